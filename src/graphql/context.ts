import { authenticate, type Viewer } from "../auth/authenticate.js";
import type { Deps, RequestMeta } from "../deps.js";
import { createUserLoaders, type UserLoaders } from "../users/user.loaders.js";

/**
 * The HTTP side of a request, for the few operations that need more than its body (the cookie
 * transport, graphql/token-transport.ts). Nothing is read until asked, so other requests pay nothing.
 */
export interface HttpExchange {
  /** A request header, by case-insensitive name. */
  header(name: string): string | undefined;
  /** Adds one Set-Cookie header to the answer. */
  setCookie(serialized: string): void;
  /** The request came over HTTPS (directly, or per X-Forwarded-Proto from a proxy TRUST_PROXY trusts). */
  secure(): boolean;
  /** The API's own origin as this request addressed it: scheme://host[:port]. */
  ownOrigin(): string;
}

export interface Context {
  readonly deps: Deps;
  readonly meta: RequestMeta;
  readonly http: HttpExchange;
  /**
   * The authenticated caller (auth/authenticate.ts), loaded on first use (public operations never pay
   * for it) and once per request.
   */
  viewer(): Promise<Viewer>;
  /** What the request log reports: the caller's id once authenticated. */
  readonly state: { userId?: string };
  readonly loaders: UserLoaders;
}

export function createContext(deps: Deps, meta: RequestMeta, authorization: string | undefined, http: HttpExchange): Context {
  let viewer: Promise<Viewer> | undefined;
  const state: { userId?: string } = {};
  return {
    deps,
    meta,
    http,
    state,
    viewer: () =>
      (viewer ??= authenticate(deps, authorization).then((v) => {
        state.userId = v.user.id;
        return v;
      })),
    loaders: createUserLoaders(deps.db),
  };
}
