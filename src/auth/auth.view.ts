import type { SessionRow } from "../db/schema.js";
import { toOwnUserView } from "../users/user.view.js";
import type { IssuedTokens } from "./auth.service.js";
import { AuthPayload, Session } from "./auth.types.js";

/*
 * The auth feature's one mapping from what its services return (rows, plain results) to its GraphQL
 * types. Each copies named fields only, as toUserView does for users.
 */

/** A freshly issued pair (login, refreshToken, changePassword, verifyMfa) as the GraphQL AuthPayload; its user is the caller. */
export function toAuthPayloadView(issued: IssuedTokens): AuthPayload {
  return Object.assign(new AuthPayload(), {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    tokenType: "Bearer",
    expiresIn: issued.expiresIn,
    mfaRequired: issued.mfaRequired,
    user: toOwnUserView(issued.user),
  });
}

/** A session row as the GraphQL Session; `current` when it is the session of the token asking. */
export function toSessionView(row: SessionRow, currentSessionId: string): Session {
  return Object.assign(new Session(), {
    id: row.id,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    expiresAt: row.expiresAt,
    ip: row.ip,
    userAgent: row.userAgent,
    current: row.id === currentSessionId,
  });
}
