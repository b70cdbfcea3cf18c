import { pgConstraint, pgErrorCode } from "../db/errors.js";

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let current = err;
  while (current && typeof current === "object" && out.length < 5) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

/** Errors from a database driver or from drizzle carry SQL and parameters in their message and fields. */
function isDriverError(err: unknown): boolean {
  return chain(err).some((e) => {
    const o = e as Record<string, unknown>;
    const name = typeof o["name"] === "string" ? o["name"] : "";
    return (
      /Drizzle|Postgres|Database|PGlite/i.test(name) ||
      "query" in o ||
      "parameters" in o ||
      "params" in o ||
      pgErrorCode(e) !== undefined
    );
  });
}

/**
 * A log-safe description of any error: for driver errors only the SQLSTATE, constraint and error
 * class (never message, detail, query or parameters); for the rest, message and stack.
 */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  if (isDriverError(err)) {
    return {
      type: err.name,
      driver: true,
      sqlstate: pgErrorCode(err),
      constraint: pgConstraint(err),
      errno: chain(err)
        .map((e) => (e as { code?: unknown }).code)
        .find((c) => typeof c === "string" && !/^[0-9A-Z]{5}$/.test(c)),
    };
  }
  return { type: err.name, message: err.message, stack: err.stack };
}
