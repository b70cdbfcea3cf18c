import { parseCookie, stringifySetCookie, type SerializeOptions } from "cookie";
import type { IssuedTokens } from "../auth/auth.service.js";
import type { AuthPayload } from "../auth/auth.types.js";
import { toAuthPayloadView } from "../auth/auth.view.js";
import { forbidden, unauthenticated } from "../errors.js";
import { isAllowedOrigin } from "../lib/origins.js";
import type { Context } from "./context.js";

/*
 * How a pair of tokens reaches the client (API.md §6). By default both travel in the GraphQL answer.
 * With `X-Auth-Transport: cookie` the refresh token goes into an httpOnly cookie instead, so a browser
 * app's JavaScript (and whatever script injection it suffers) never holds the 30-day credential; the
 * answer's refreshToken is then null. Services know nothing of this: it is the resolvers' last step.
 */

/** The refresh-token cookie's name. */
export const REFRESH_COOKIE = "gh_refresh";
/** Sent only to the GraphQL endpoint: no other path of the site (or a page under it) ever sees it. */
const COOKIE_PATH = "/graphql";

/** Whether the request asked for the cookie transport. */
export function wantsCookieTransport(ctx: Pick<Context, "http">): boolean {
  return ctx.http.header("x-auth-transport")?.trim().toLowerCase() === "cookie";
}

function cookieOptions(ctx: Pick<Context, "deps" | "http">, maxAge: number): SerializeOptions {
  const { config } = ctx.deps;
  const { sameSite, domain } = config.cookie;
  return {
    httpOnly: true,
    // Plain http only in development (browsers drop a Secure cookie set over http); SameSite=None is
    // refused by browsers without Secure.
    secure: config.isProduction || sameSite === "none" || ctx.http.secure(),
    sameSite,
    path: COOKIE_PATH,
    maxAge,
    ...(domain ? { domain } : {}),
  };
}

/**
 * The one step every token-issuing resolver (login, refreshToken, changePassword, verifyMfa, …) ends
 * with: maps the pair to the AuthPayload and, when the client asked for the cookie transport (or sent
 * its refresh token in the cookie, `fromCookie`: the next one must not land in JavaScript), moves the
 * refresh token into the gh_refresh cookie and answers refreshToken: null.
 */
export function deliverTokens(ctx: Pick<Context, "deps" | "http">, issued: IssuedTokens, options: { fromCookie?: boolean } = {}): AuthPayload {
  const payload = toAuthPayloadView(issued);
  if (!options.fromCookie && !wantsCookieTransport(ctx)) return payload;
  ctx.http.setCookie(stringifySetCookie(REFRESH_COOKIE, issued.refreshToken, cookieOptions(ctx, ctx.deps.config.jwt.refreshTtl)));
  payload.refreshToken = null;
  return payload;
}

/** Tells the browser to drop the gh_refresh cookie (Max-Age=0, same name, path and domain). */
export function clearRefreshCookie(ctx: Pick<Context, "deps" | "http">): void {
  ctx.http.setCookie(stringifySetCookie(REFRESH_COOKIE, "", cookieOptions(ctx, 0)));
}

/**
 * The refresh token refreshToken / logout act on: the argument when given, else the gh_refresh cookie
 * (parsed only here, so no other request pays for it). No token at all is UNAUTHENTICATED.
 *
 * A call that authenticates with the cookie and carries an Origin header is refused with FORBIDDEN
 * unless that origin is an allowed one (CORS_ORIGINS, or the development default) or the API's own:
 * the browser attaches the cookie by itself, so a page elsewhere must not be able to spend it. A
 * request without Origin comes from no browser and is not refused for that.
 */
export function resolveRefreshToken(ctx: Pick<Context, "deps" | "http">, argument: string | null | undefined): { token: string; fromCookie: boolean } {
  if (argument !== null && argument !== undefined) return { token: argument, fromCookie: false };
  const header = ctx.http.header("cookie");
  const token = header ? parseCookie(header)[REFRESH_COOKIE] : undefined;
  if (!token) throw unauthenticated("NO_TOKEN", `No refresh token: pass the refreshToken argument or send the ${REFRESH_COOKIE} cookie`);
  const origin = ctx.http.header("origin");
  if (origin !== undefined && origin !== ctx.http.ownOrigin() && !isAllowedOrigin(ctx.deps.config, origin)) {
    throw forbidden(`The ${REFRESH_COOKIE} cookie is not accepted from this origin (CORS_ORIGINS lists the allowed ones)`);
  }
  return { token, fromCookie: true };
}
