import { and, desc, eq, inArray, isNull, ne, sql, type SQL } from "drizzle-orm";
import type { Db, Queryable, Tx } from "../db/client.js";
import { findLiveSession, sessionIsLive } from "../db/live-session.js";
import { refreshTokens, sessions, users, type SessionRow, type UserRow } from "../db/schema.js";
import type { Deps, RequestMeta } from "../deps.js";
import { recordAudit } from "../audit/audit.service.js";
import { generateOpaqueToken, hashToken } from "../lib/opaque-token.js";
import { mfaRequired } from "./mfa/mfa-errors.js";

export const USER_AGENT_MAX = 512;

export type SessionRevokeReason =
  | "logout"
  | "logout_all"
  | "revoked_by_user"
  | "refresh_token_reuse"
  | "password_changed"
  | "password_reset"
  | "deactivated"
  | "deactivated_by_admin"
  | "deleted_by_admin";

const expiresIn = (seconds: number) => sql`now() + make_interval(secs => ${seconds})`;

/** How long a session may wait for its second factor before it is dead (API.md §7). */
export const MFA_PENDING_SECONDS = 5 * 60;

/**
 * How a new session was authenticated. `amr` holds RFC 8176 method names ("pwd", "otp", plus
 * "recovery_code"); a later factor (passkey, social login) adds a value, not a column.
 */
export interface SessionAuth {
  amr: readonly string[];
  /** The session waits for a second factor (a first-factor login of a TOTP user). */
  mfaPending?: boolean;
  /** Carried from the session this one replaces (changePassword): when the user last proved each. */
  authTime?: Date;
  mfaVerifiedAt?: Date | null;
}

/** Opens a session (a refresh-token family) and returns its first refresh token, in clear, once. */
export async function createSession(
  tx: Queryable,
  refreshTtl: number,
  userId: string,
  meta: RequestMeta,
  auth: SessionAuth = { amr: ["pwd"] },
): Promise<{ sessionId: string; refreshToken: string }> {
  const [session] = await tx
    .insert(sessions)
    .values({
      userId,
      expiresAt: expiresIn(refreshTtl),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      amr: [...auth.amr],
      ...(auth.authTime ? { authTime: auth.authTime } : {}),
      mfaVerifiedAt: auth.mfaVerifiedAt ?? null,
      mfaPendingUntil: auth.mfaPending ? expiresIn(MFA_PENDING_SECONDS) : null,
    })
    .returning({ id: sessions.id })
    .prepare("gatehouse_session_insert")
    .execute();
  const refreshToken = generateOpaqueToken();
  await tx
    .insert(refreshTokens)
    .values({ tokenHash: hashToken(refreshToken), sessionId: session!.id })
    .prepare("gatehouse_refresh_token_insert")
    .execute();
  return { sessionId: session!.id, refreshToken };
}

/** Which sessions to revoke: one by id, or every session of some users (optionally but one). */
export type SessionSelector = { sessionId: string } | { userIds: readonly string[]; exceptSessionId?: string };

/**
 * The one writer of session revocation: marks the selected sessions that are still live as revoked,
 * with the reason, and returns them. Already revoked sessions keep their first reason.
 */
export async function revokeSessions(
  tx: Queryable,
  which: SessionSelector,
  reason: SessionRevokeReason,
): Promise<Array<{ id: string; userId: string }>> {
  const selected: SQL | undefined =
    "sessionId" in which
      ? eq(sessions.id, which.sessionId)
      : and(inArray(sessions.userId, [...which.userIds]), which.exceptSessionId ? ne(sessions.id, which.exceptSessionId) : undefined);
  return tx
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(selected, isNull(sessions.revokedAt)))
    .returning({ id: sessions.id, userId: sessions.userId });
}

/** Revokes every live session of a user (optionally but one). Returns how many were revoked. */
export async function revokeUserSessions(
  tx: Queryable,
  userId: string,
  reason: SessionRevokeReason,
  exceptSessionId?: string,
): Promise<number> {
  return (await revokeSessions(tx, { userIds: [userId], ...(exceptSessionId ? { exceptSessionId } : {}) }, reason)).length;
}

export type ConsumedRefreshToken =
  | { status: "ok"; sessionId: string }
  | { status: "grace"; sessionId: string }
  | { status: "reused"; sessionId: string }
  | { status: "unknown" };

/**
 * Marks a refresh token used, atomically: of any number of concurrent callers with one token, exactly
 * one gets "ok". A token presented again within `reuseIntervalSeconds` of its first use gets "grace"
 * (two tabs refreshing at once, a retry after a lost answer): the caller continues the session as for
 * "ok". Any other repeat revokes the whole session family (a copy of the token is in someone else's
 * hands) and reports "reused".
 */
export async function consumeRefreshToken(
  tx: Tx,
  refreshToken: string,
  ip: string | null,
  reuseIntervalSeconds: number,
): Promise<ConsumedRefreshToken> {
  const tokenHash = hashToken(refreshToken);
  // used_at is written once, by the first use: repeats within the window never move it, so presenting
  // a token every few seconds cannot keep it alive.
  const [fresh] = await tx
    .update(refreshTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt)))
    .returning({ sessionId: refreshTokens.sessionId });
  if (fresh) return { status: "ok", sessionId: fresh.sessionId };

  // Reached after a concurrent first use has committed (the UPDATE above waited for its row lock), so
  // used_at is that first use.
  const [known] = await tx
    .select({
      sessionId: refreshTokens.sessionId,
      userId: sessions.userId,
      // Within the window, and the session has not moved on past this token: no token issued since its
      // first use (its successor, or a sibling from another repeat) was itself used. Once one was, the
      // client that holds the family is a generation further and this copy is a replay.
      inGrace: sql<boolean>`${refreshTokens.usedAt} > now() - make_interval(secs => ${reuseIntervalSeconds})
        and not exists (
          select 1 from ${refreshTokens} as later
          where later.session_id = ${refreshTokens.sessionId}
            and later.created_at >= ${refreshTokens.usedAt}
            and later.used_at is not null
        )`,
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  if (!known) return { status: "unknown" };
  // The caller still checks the session is live (continueSession): a revoked session never comes back.
  if (reuseIntervalSeconds > 0 && known.inGrace) return { status: "grace", sessionId: known.sessionId };

  const revoked = await revokeSessions(tx, { sessionId: known.sessionId }, "refresh_token_reuse");
  if (revoked.length > 0) {
    await recordAudit(tx, {
      action: "user.refresh_token_reused",
      actorId: null,
      targetId: known.userId,
      ip,
      details: { sessionId: known.sessionId },
    });
  }
  return { status: "reused", sessionId: known.sessionId };
}

export interface LiveSession {
  sessionId: string;
  user: UserRow;
}

/** Why a session cannot be used: the reason of the UNAUTHENTICATED that answers it. */
export type EndedSession = { ended: "ACCOUNT_INACTIVE" | "SESSION_REVOKED" };

/** An inactive or deleted user outranks a revoked session: deactivation revokes the sessions too. */
function whyEnded(row: { user: UserRow; live: boolean }): EndedSession["ended"] | null {
  if (!row.user.isActive || row.user.deletedAt) return "ACCOUNT_INACTIVE";
  if (!row.live) return "SESSION_REVOKED";
  return null;
}

/** How the caller's session was authenticated, to carry into a session that replaces it. */
export async function findSessionAuth(db: Queryable, sessionId: string): Promise<SessionAuth | null> {
  const [row] = await db
    .select({ amr: sessions.amr, authTime: sessions.authTime, mfaVerifiedAt: sessions.mfaVerifiedAt })
    .from(sessions)
    .where(eq(sessions.id, sessionId))
    .limit(1);
  return row ?? null;
}

/**
 * Continues a session after its refresh token was consumed: checks the session and its user are still
 * good, issues the next refresh token and slides the expiry. Says why when the session cannot go on.
 */
export async function continueSession(
  tx: Tx,
  refreshTtl: number,
  sessionId: string,
  meta: RequestMeta,
): Promise<(LiveSession & { refreshToken: string }) | EndedSession> {
  const [row] = await tx
    .select({ user: users, live: sessionIsLive, mfaPending: sql<boolean>`${sessions.mfaPendingUntil} is not null` })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sessionId))
    .for("update", { of: sessions })
    .limit(1);
  if (!row) return { ended: "SESSION_REVOKED" };
  const ended = whyEnded(row);
  if (ended) return { ended };
  // Thrown inside the caller's transaction, which rolls back: the refresh token stays unspent, so the
  // client can still log out with it. A pending session is completed by verifyMfa, never refreshed.
  if (row.mfaPending) throw mfaRequired("This session is waiting for its second factor: call verifyMfa; it cannot be refreshed");

  const refreshToken = generateOpaqueToken();
  await tx.insert(refreshTokens).values({ tokenHash: hashToken(refreshToken), sessionId });
  await tx
    .update(sessions)
    .set({
      lastUsedAt: sql`now()`,
      expiresAt: expiresIn(refreshTtl),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
    })
    .where(eq(sessions.id, sessionId));
  return { sessionId, user: row.user, refreshToken };
}

/**
 * The per-request check behind every @auth field: one indexed query (sessions primary key joined to
 * users primary key) that also says whether the session is live and whether it still waits for its
 * second factor (a pending one lapses after five minutes). When the session cannot be used it says why,
 * from the same row: ACCOUNT_INACTIVE for an inactive or deleted user, SESSION_REVOKED for a revoked or
 * expired session or one that is not this user's (no row).
 */
export async function loadLiveSession(
  db: Db,
  sessionId: string,
  userId: string,
): Promise<(LiveSession & { stale: boolean; mfaPending: boolean }) | EndedSession> {
  const row = await findLiveSession(db, sessionId, userId);
  if (!row) return { ended: "SESSION_REVOKED" };
  const ended = whyEnded(row);
  if (ended) return { ended };
  return { sessionId, user: row.user, stale: row.stale, mfaPending: row.mfaPending };
}

/** Records that the session was just used (authenticate calls it at most once a TOUCH_INTERVAL_SECONDS). */
export async function touchSession(db: Queryable, sessionId: string): Promise<void> {
  await db.update(sessions).set({ lastUsedAt: sql`now()` }).where(eq(sessions.id, sessionId));
}

/** The user's sessions that are neither revoked nor expired, most recently used first. */
export async function listLiveSessions(db: Queryable, userId: string): Promise<SessionRow[]> {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), sessionIsLive))
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.id));
}

/** Revokes one of the user's own sessions. false when the user has no such session. */
export async function revokeOwnSession(
  deps: Pick<Deps, "db">,
  userId: string,
  sessionId: string,
  meta: RequestMeta,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const [own] = await tx
      .select({ id: sessions.id, revokedAt: sessions.revokedAt })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
      .for("update")
      .limit(1);
    if (!own) return false;
    if (own.revokedAt) return true; // already done: revoking is idempotent
    await revokeSessions(tx, { sessionId }, "revoked_by_user");
    await recordAudit(tx, {
      action: "user.session_revoked",
      actorId: userId,
      targetId: userId,
      ip: meta.ip,
      details: { sessionId },
    });
    return true;
  });
}
