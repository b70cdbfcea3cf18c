import { and, count, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { sessions, users, type UserRow } from "../db/schema.js";

/** Lookups return null; the caller decides whether that is NOT_FOUND, UNAUTHENTICATED or silence. */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1);
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

/**
 * Locks every active admin row (in id order, so concurrent callers cannot deadlock) and returns their
 * ids. Any operation that could remove an active admin calls this first in its transaction: a second
 * transaction doing the same waits here and then sees the first one's change, so two admins stepping
 * down at once cannot leave zero.
 */
export async function lockActiveAdmins(db: Queryable): Promise<string[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.isActive, true), isNull(users.deletedAt)))
    .orderBy(users.id)
    .for("update");
  return rows.map((r) => r.id);
}

/** Active (not revoked, not expired) session counts for many users in one query. */
export async function countActiveSessions(db: Queryable, userIds: readonly string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .select({ userId: sessions.userId, n: count() })
    .from(sessions)
    .where(and(inArray(sessions.userId, [...userIds]), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
    .groupBy(sessions.userId);
  return new Map(rows.map((r) => [r.userId, Number(r.n)]));
}
