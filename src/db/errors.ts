/**
 * Reading driver errors without their messages. DrizzleQueryError.message holds the SQL and its
 * parameters (password hashes, token hashes), and postgres.js errors carry `query` and `parameters`:
 * only the SQLSTATE and the constraint name are ever read from them.
 */

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
  cause?: unknown;
}

function* causes(err: unknown): Generator<PgErrorLike> {
  let current: unknown = err;
  for (let depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    yield current as PgErrorLike;
    current = (current as PgErrorLike).cause;
  }
}

/** The PostgreSQL SQLSTATE (e.g. "23505") of an error or of one of its causes. */
export function pgErrorCode(err: unknown): string | undefined {
  for (const e of causes(err)) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

export function pgConstraint(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const name = e.constraint ?? e.constraint_name;
    if (typeof name === "string") return name;
  }
  return undefined;
}

export const isUniqueViolation = (err: unknown, constraint?: string) =>
  pgErrorCode(err) === "23505" && (constraint === undefined || pgConstraint(err) === constraint);

const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/** The database cannot be reached (as opposed to refusing a query): SERVICE_UNAVAILABLE, not a bug. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of causes(err)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (CONNECTION_ERRNOS.has(code)) return true;
    // 08xxx connection exceptions, 57P01-57P03 admin shutdown / cannot connect now, 53300 too many connections.
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === "53300") return true;
  }
  return false;
}
