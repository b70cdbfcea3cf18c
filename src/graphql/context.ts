import { authenticate, type Viewer } from "../auth/authenticate.js";
import type { Deps, RequestMeta } from "../deps.js";
import { createUserLoaders, type UserLoaders } from "../users/user.loaders.js";

export interface Context {
  readonly deps: Deps;
  readonly meta: RequestMeta;
  /**
   * The authenticated caller (auth/authenticate.ts), loaded on first use (public operations never pay
   * for it) and once per request.
   */
  viewer(): Promise<Viewer>;
  /** What the request log reports: the caller's id once authenticated. */
  readonly state: { userId?: string };
  readonly loaders: UserLoaders;
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
    loaders: createUserLoaders(deps.db),
  };
}
