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
 * at the next request. Throws UNAUTHENTICATED for a missing, malformed, forged, expired or revoked token
 * and for an inactive or deleted user.
 */
export async function authenticate(deps: Pick<Deps, "db" | "tokens">, authorization: string | undefined): Promise<Viewer> {
  if (!authorization) throw unauthenticated("Authentication required: send Authorization: Bearer <accessToken>");
  const token = BEARER.exec(authorization.trim())?.[1];
  if (!token) throw unauthenticated("Malformed Authorization header: expected Bearer <accessToken>");
  const claims = await deps.tokens.verifyAccessToken(token);
  const live = await loadLiveSession(deps.db, claims.sessionId, claims.userId);
  if (!live) throw unauthenticated("Session is no longer valid; log in again");
  if (live.stale) await touchSession(deps.db, live.sessionId);
  return { user: live.user, sessionId: live.sessionId, mfaPending: live.mfaPending };
}
