import { and, count, eq, inArray, isNull, notInArray, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { sessionIsLive } from "../db/live-session.js";
import { sessions, users, type UserRow } from "../db/schema.js";

/** Lookups return null; the caller decides whether that is NOT_FOUND, UNAUTHENTICATED or silence. */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
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
