import { Placeholder, and, eq, sql } from "drizzle-orm";
import { postgresClientOf, type Db } from "./client.js";
import { sessions, users, type UserRow } from "./schema.js";
import { USER_COLUMNS, decodeUserRow } from "./user-row.js";

/**
 * Whether a session is live: neither revoked nor expired, and not a pending session (waiting for its
 * second factor) whose five minutes are over. The one definition every session read uses, so a lapsed
 * pending session is dead everywhere at once: authentication, refresh, mySessions, the counts.
 */
export const sessionIsLive = sql<boolean>`(${sessions.revokedAt} is null and ${sessions.expiresAt} > now()
  and (${sessions.mfaPendingUntil} is null or ${sessions.mfaPendingUntil} > now()))`;

/** Seconds between two writes of `last_used_at` for one session: a read must not cost a write each time. */
export const TOUCH_INTERVAL_SECONDS = 60;

/** A session joined to its user, as the per-request check reads it. */
export interface LiveSessionRow {
  user: UserRow;
  live: boolean;
  /** The session still waits for its second factor. */
  mfaPending: boolean;
  /** last_used_at is older than TOUCH_INTERVAL_SECONDS. */
  stale: boolean;
}

export type LiveSessionLookup = (sessionId: string, userId: string) => Promise<LiveSessionRow | undefined>;

const flags = {
  live: sessionIsLive,
  mfaPending: sql<boolean>`${sessions.mfaPendingUntil} is not null`,
  stale: sql<boolean>`${sessions.lastUsedAt} < now() - make_interval(secs => ${TOUCH_INTERVAL_SECONDS})`,
};

const bySessionAndUser = and(eq(sessions.id, sql.placeholder("sessionId")), eq(sessions.userId, sql.placeholder("userId")));

/**
 * The statement behind every authenticated request (sessions primary key joined to users primary key),
 * built once per database. drizzle writes the SQL in both cases. On PostgreSQL it then runs straight
 * through postgres.js as a prepared statement with rows as arrays, decoded by a loop over the users
 * table's own columns: drizzle's generic execute (three tracing spans, a cache probe, a per-field
 * reduce with entity checks and nested paths) cost about as much CPU as the rest of the lookup on the
 * client side. PGlite keeps drizzle's prepared query.
 */
function prepareLiveSessionLookup(db: Db): LiveSessionLookup {
  const client = postgresClientOf(db);
  if (!client) {
    const prepared = db
      .select({ user: users, ...flags })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(bySessionAndUser)
      .limit(1)
      .prepare("gatehouse_live_session");
    return async (sessionId, userId) => (await prepared.execute({ sessionId, userId }))[0];
  }

  // Flat, in this order: the users columns, then the three flags (drizzle keeps the order of the keys).
  const { sql: text, params } = db
    .select({ ...Object.fromEntries(USER_COLUMNS), ...flags })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(bySessionAndUser)
    .limit(1)
    .toSQL();
  const slot = (name: string) => params.findIndex((p) => p instanceof Placeholder && p.name === name);
  const sessionSlot = slot("sessionId");
  const userSlot = slot("userId");
  if (sessionSlot < 0 || userSlot < 0) throw new Error("live session query: placeholders not found");
  const n = USER_COLUMNS.length;
  return async (sessionId, userId) => {
    const values = params.slice() as Array<string | number>;
    values[sessionSlot] = sessionId;
    values[userSlot] = userId;
    const [row] = await client.unsafe(text, values, { prepare: true }).values();
    if (!row) return undefined;
    // As drizzle maps a row (timestamps arrive as text: drizzle's postgres.js setup turns their parsers off).
    const user = decodeUserRow((_name, i) => row[i]);
    return { user, live: row[n] as boolean, mfaPending: row[n + 1] as boolean, stale: row[n + 2] as boolean };
  };
}

const lookups = new WeakMap<Db, LiveSessionLookup>();

/** The session and its user by id (the user id must match too); undefined when there is no such pair. */
export function findLiveSession(db: Db, sessionId: string, userId: string): Promise<LiveSessionRow | undefined> {
  let lookup = lookups.get(db);
  if (!lookup) lookups.set(db, (lookup = prepareLiveSessionLookup(db)));
  return lookup(sessionId, userId);
}
