import type { UserRow } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { unauthenticated } from "../errors.js";
import { loadLiveSession, touchSession } from "./sessions.service.js";

/** The authenticated caller of a request. */
export interface Viewer {
  readonly user: UserRow;
  readonly sessionId: string;
  /** The session waits for its second factor: the access layer lets it call only @allowPendingMfa fields. */
  readonly mfaPending: boolean;
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.]+)$/i;

/**
 * From an Authorization header to the caller: the access token's signature and claims, then its session
 * and user read from the database (role and status too), so a logout, deactivation or role change acts
 * at the next request. Throws UNAUTHENTICATED with its reason: NO_TOKEN, INVALID_TOKEN (malformed or
 * forged), TOKEN_EXPIRED, SESSION_REVOKED, ACCOUNT_INACTIVE (an inactive or deleted user).
 */
export async function authenticate(deps: Pick<Deps, "db" | "tokens">, authorization: string | undefined): Promise<Viewer> {
  if (!authorization) throw unauthenticated("NO_TOKEN");
  const token = BEARER.exec(authorization.trim())?.[1];
  if (!token) throw unauthenticated("INVALID_TOKEN", "Malformed Authorization header: expected Bearer <accessToken>");
  const claims = await deps.tokens.verifyAccessToken(token);
  const live = await loadLiveSession(deps.db, claims.sessionId, claims.userId);
  if ("ended" in live) throw unauthenticated(live.ended);
  if (live.stale) await touchSession(deps.db, live.sessionId);
  return { user: live.user, sessionId: live.sessionId, mfaPending: live.mfaPending };
}
