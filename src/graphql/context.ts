import DataLoader from "dataloader";
import type { UserRow } from "../db/schema.js";
import { unauthenticated } from "../errors.js";
import { loadLiveSession, touchSession } from "../auth/sessions.service.js";
import type { Deps, RequestMeta } from "../server/deps.js";
import { countActiveSessions } from "../users/users.repo.js";

export interface Viewer {
  readonly user: UserRow;
  readonly sessionId: string;
}

export interface Context {
  readonly deps: Deps;
  readonly meta: RequestMeta;
  /**
   * The authenticated caller, loaded on first use (public operations never pay for it) and once per
   * request. Throws UNAUTHENTICATED for a missing, malformed, forged, expired or revoked token and for
   * an inactive or deleted user.
   */
  viewer(): Promise<Viewer>;
  /** What the request log reports: the caller's id once authenticated. */
  readonly state: { userId?: string };
  readonly loaders: {
    readonly activeSessions: DataLoader<string, number>;
  };
}

export function createContext(deps: Deps, meta: RequestMeta, authorization: string | undefined): Context {
  let viewer: Promise<Viewer> | undefined;
  const state: { userId?: string } = {};
  return {
    deps,
    meta,
    state,
    viewer: () =>
      (viewer ??= authenticate(deps, authorization).then((v) => {
        state.userId = v.user.id;
        return v;
      })),
    loaders: {
      activeSessions: new DataLoader(async (ids) => {
        const counts = await countActiveSessions(deps.db, ids);
        return ids.map((id) => counts.get(id) ?? 0);
      }),
    },
  };
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.]+)$/i;

async function authenticate(deps: Deps, authorization: string | undefined): Promise<Viewer> {
  if (!authorization) throw unauthenticated("Authentication required: send Authorization: Bearer <accessToken>");
  const token = BEARER.exec(authorization.trim())?.[1];
  if (!token) throw unauthenticated("Malformed Authorization header: expected Bearer <accessToken>");
  const claims = await deps.tokens.verifyAccessToken(token);
  // Role and status come from the database on every request, so a change acts at the next request.
  const live = await loadLiveSession(deps.db, claims.sessionId, claims.userId);
  if (!live) throw unauthenticated("Session is no longer valid; log in again");
  if (live.stale) await touchSession(deps.db, live.sessionId);
  return { user: live.user, sessionId: live.sessionId };
}
