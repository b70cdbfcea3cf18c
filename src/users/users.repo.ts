import { Placeholder, and, count, eq, inArray, isNull, notInArray, sql } from "drizzle-orm";
import { postgresClientOf, type Db, type Queryable } from "../db/client.js";
import { sessionIsLive } from "../db/live-session.js";
import { sessions, users, type UserRow } from "../db/schema.js";
import { USER_COLUMNS, decodeUserRow } from "../db/user-row.js";

type UserByEmail = (email: string) => Promise<UserRow | null>;

/**
 * Every login's first statement (users by its unique email), on the pool of a PostgreSQL Db: drizzle
 * writes the SQL once, postgres.js runs it as a prepared statement with rows as arrays, decoded by the
 * users table's own columns (as the session check does, db/live-session.ts). Building the select and
 * mapping its row through drizzle cost more main-thread CPU than the rest of the lookup.
 */
function prepareUserByEmail(db: Db): UserByEmail | undefined {
  const client = postgresClientOf(db);
  if (!client) return undefined;
  const { sql: text, params } = db
    .select(Object.fromEntries(USER_COLUMNS))
    .from(users)
    .where(eq(users.email, sql.placeholder("email")))
    .limit(1)
    .toSQL();
  const emailSlot = params.findIndex((p) => p instanceof Placeholder && p.name === "email");
  if (emailSlot < 0) throw new Error("user by email query: placeholder not found");
  return async (email) => {
    const values = params.slice() as Array<string | number>;
    values[emailSlot] = email;
    const [row] = await client.unsafe(text, values, { prepare: true }).values();
    return row ? decodeUserRow((_name, i) => row[i]) : null;
  };
}

const usersByEmail = new WeakMap<Queryable, UserByEmail | null>();

/** Lookups return null; the caller decides whether that is NOT_FOUND, UNAUTHENTICATED or silence. */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  // A transaction (or PGlite) goes through drizzle; only the pool's own Db has a postgres.js client.
  let fast = usersByEmail.get(db);
  if (fast === undefined && postgresClientOf(db as Db)) usersByEmail.set(db, (fast = prepareUserByEmail(db as Db) ?? null));
  if (fast) return fast(email);
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1).prepare("gatehouse_user_by_email").execute();
  return row ?? null;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

/** Row-locks the user for the rest of the transaction. */
export async function lockUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).for("update").limit(1);
  return row ?? null;
}

/** Any constant will do as long as every instance uses the same one. */
const ADMIN_INVARIANT_LOCK = 7_260_431_178;

/**
 * Serialises, for the rest of the transaction, every operation that could remove an active admin
 * (deactivateMe, updateUser, bulkUsers). Each calls this first: a second transaction waits here and
 * then reads the first one's committed change, so two admins stepping down at once cannot leave zero.
 * One lock whatever the number of admins (locking every admin row cost O(admins) per update).
 */
export async function lockAdminInvariant(db: Queryable): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(${ADMIN_INVARIANT_LOCK})`);
}

export const isActiveAdmin = (u: Pick<UserRow, "role" | "isActive" | "deletedAt">) => u.role === "ADMIN" && u.isActive && u.deletedAt === null;

/** Whether an active admin exists besides `excluded`. Call after lockAdminInvariant. */
export async function otherActiveAdminExists(db: Queryable, excluded: readonly string[]): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(
      and(
        eq(users.role, "ADMIN"),
        eq(users.isActive, true),
        isNull(users.deletedAt),
        excluded.length > 0 ? notInArray(users.id, [...excluded]) : undefined,
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** Live session counts (not revoked, not expired, not a lapsed pending one) for many users in one query. */
export async function countActiveSessions(db: Queryable, userIds: readonly string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .select({ userId: sessions.userId, n: count() })
    .from(sessions)
    .where(and(inArray(sessions.userId, [...userIds]), sessionIsLive))
    .groupBy(sessions.userId);
  return new Map(rows.map((r) => [r.userId, Number(r.n)]));
}
