import { and, count, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { Queryable } from "../../db/client.js";
import { sessionIsLive } from "../../db/live-session.js";
import { recoveryCodes, refreshTokens, sessions, userMfa, type UserMfaRow } from "../../db/schema.js";
import { generateOpaqueToken, hashToken } from "../../lib/opaque-token.js";
import { hashRecoveryCode } from "./recovery-codes.js";

/* The second factor's rows: user_mfa (one per user) and recovery_codes. Lookups return null. */

/** The user's TOTP row, enabled or still in setup. */
export async function findUserMfa(db: Queryable, userId: string): Promise<UserMfaRow | null> {
  // Prepared: verifyMfa's first statement.
  const [row] = await db
    .select()
    .from(userMfa)
    .where(eq(userMfa.userId, sql.placeholder("userId")))
    .limit(1)
    .prepare("gatehouse_user_mfa_by_user")
    .execute({ userId });
  return row ?? null;
}

/** True when the user has TOTP on (login then opens a pending session). */
export async function hasTotpEnabled(db: Queryable, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ on: sql<number>`1` })
    .from(userMfa)
    .where(and(eq(userMfa.userId, userId), isNotNull(userMfa.totpEnabledAt)))
    .limit(1);
  return row !== undefined;
}

export interface MfaStatusRow {
  totpEnabled: boolean;
  recoveryCodesLeft: number;
}

/** The status of many users in two indexed queries (User.mfa's loader). */
export async function loadMfaStatuses(db: Queryable, userIds: readonly string[]): Promise<Map<string, MfaStatusRow>> {
  const ids = [...userIds];
  const [enabled, left] = await Promise.all([
    db.select({ userId: userMfa.userId }).from(userMfa).where(and(inArray(userMfa.userId, ids), isNotNull(userMfa.totpEnabledAt))),
    db
      .select({ userId: recoveryCodes.userId, n: count() })
      .from(recoveryCodes)
      .where(and(inArray(recoveryCodes.userId, ids), isNull(recoveryCodes.usedAt)))
      .groupBy(recoveryCodes.userId),
  ]);
  const on = new Set(enabled.map((r) => r.userId));
  const counts = new Map(left.map((r) => [r.userId, Number(r.n)]));
  return new Map(ids.map((id) => [id, { totpEnabled: on.has(id), recoveryCodesLeft: on.has(id) ? (counts.get(id) ?? 0) : 0 }]));
}

/**
 * Spends a TOTP time step: the compare-and-set that lets each step through once per user. Of any number
 * of concurrent callers with codes of one step, exactly one sees true (the row lock of the UPDATE
 * orders them, and each re-reads last_totp_step under it); a step not newer than the last is refused.
 */
export async function spendTotpStep(db: Queryable, userId: string, step: number): Promise<boolean> {
  const rows = await db
    .update(userMfa)
    .set({ lastTotpStep: step, updatedAt: sql`now()` })
    .where(and(eq(userMfa.userId, userId), or(isNull(userMfa.lastTotpStep), lt(userMfa.lastTotpStep, step))))
    .returning({ userId: userMfa.userId });
  return rows.length === 1;
}

/** Spends one recovery code of the user, atomically (UPDATE … WHERE used_at IS NULL RETURNING). */
export async function spendRecoveryCode(db: Queryable, userId: string, code: string): Promise<boolean> {
  const rows = await db
    .update(recoveryCodes)
    .set({ usedAt: sql`now()` })
    .where(and(eq(recoveryCodes.codeHash, hashRecoveryCode(code)), eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
    .returning({ codeHash: recoveryCodes.codeHash });
  return rows.length === 1;
}

/** Replaces the user's recovery codes with `codes` (the old set stops working in the same transaction). */
export async function replaceRecoveryCodes(db: Queryable, userId: string, codes: readonly string[]): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await db.insert(recoveryCodes).values(codes.map((code) => ({ codeHash: hashRecoveryCode(code), userId })));
}

/** Removes every second factor of the user (disableTotp, resetUserMfa). True when TOTP was on. */
export async function removeUserMfa(db: Queryable, userId: string): Promise<boolean> {
  const removed = await db.delete(userMfa).where(eq(userMfa.userId, userId)).returning({ enabledAt: userMfa.totpEnabledAt });
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  return removed.some((r) => r.enabledAt !== null);
}

/**
 * Completes the caller's session with a second factor: no longer pending, `method` added to its amr,
 * mfa_verified_at now. Every unused refresh token of the session is spent (the pending one must not
 * become a full one) and a fresh one is returned. Null when the session is no longer live.
 */
export async function completeSessionMfa(db: Queryable, sessionId: string, method: "otp" | "recovery_code"): Promise<string | null> {
  const [done] = await db
    .update(sessions)
    .set({
      mfaPendingUntil: null,
      mfaVerifiedAt: sql`now()`,
      amr: sql`case when ${method} = any(${sessions.amr}) then ${sessions.amr} else array_append(${sessions.amr}, ${method}::text) end`,
      lastUsedAt: sql`now()`,
    })
    .where(and(eq(sessions.id, sessionId), sessionIsLive))
    .returning({ id: sessions.id });
  if (!done) return null;
  await db.update(refreshTokens).set({ usedAt: sql`now()` }).where(and(eq(refreshTokens.sessionId, sessionId), isNull(refreshTokens.usedAt)));
  const refreshToken = generateOpaqueToken();
  await db.insert(refreshTokens).values({ tokenHash: hashToken(refreshToken), sessionId });
  return refreshToken;
}
