import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { notFound } from "../errors.js";
import { AllowPendingMfa, Auth, Public } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { clearRefreshCookie, deliverTokens, resolveRefreshToken, wantsCookieTransport } from "../graphql/token-transport.js";
import { parseId } from "../lib/validation.js";
import { User } from "../users/user.types.js";
import { toOwnUserView } from "../users/user.view.js";
import { AuthPayload, LoginInput, RegisterInput, Session } from "./auth.types.js";
import { toSessionView } from "./auth.view.js";
import { login, logout, logoutAll, refreshTokens, register } from "./auth.service.js";
import { listLiveSessions, revokeOwnSession } from "./sessions.service.js";

@Resolver()
export class AuthResolver {
  @Public()
  @RateLimit({ limit: "register", per: ["ip"] })
  @Mutation(() => User, {
    description:
      "Creates a USER account and sends a verification link to its address. Log in afterwards to get tokens. " +
      "BAD_USER_INPUT names each bad field; CONFLICT when the address is taken; RATE_LIMITED over 5 per hour per client address by default.",
  })
  async register(
    @Arg("input", () => RegisterInput, { description: "The new account." }) input: RegisterInput,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return toOwnUserView(await register(ctx.deps, input, ctx.meta));
  }

  @Public()
  // Per address and account, and per address across all emails (spraying). The per-account limit across
  // all addresses (distributed guessing) is the service's: it counts only attempts that reach a password
  // check and spares the account's known addresses. No lockout: the windows roll.
  @RateLimit({ limit: "login", per: ["ip", "email"] }, { limit: "loginIp", per: ["ip"] })
  @Mutation(() => AuthPayload, {
    description:
      "Opens a session and returns its first token pair. An unknown email, a wrong password and a deleted account give the same " +
      "UNAUTHENTICATED (reason INVALID_CREDENTIALS); a deactivated account learns it (reason ACCOUNT_INACTIVE) only with the right " +
      "password. With the header X-Auth-Transport: cookie the refresh token is set as the httpOnly gh_refresh cookie and " +
      "refreshToken is null. RATE_LIMITED over 10 per 15 minutes per client address and email by default (and wider limits per " +
      "address and per account).",
  })
  async login(
    @Arg("input", () => LoginInput, { description: "The account's email and password." }) input: LoginInput,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    return deliverTokens(ctx, await login(ctx.deps, input, ctx.meta));
  }

  @Public()
  @RateLimit({ limit: "refreshToken", per: ["ip"] })
  @Mutation(() => AuthPayload, {
    description:
      "Exchanges a refresh token for a new pair in the same session. Each refresh token works once: a token presented again " +
      "within REFRESH_REUSE_INTERVAL of its first use gets a pair too (two tabs at once); any later reuse revokes the session. " +
      "Without the argument the gh_refresh cookie is used, and the new refresh token goes back into it; such a cookie call from " +
      "a browser Origin that is neither allowed nor the API's own is FORBIDDEN. UNAUTHENTICATED with reason NO_TOKEN (neither " +
      "argument nor cookie), INVALID_TOKEN (unknown), SESSION_REVOKED (reused, or the session ended) or ACCOUNT_INACTIVE; " +
      "RATE_LIMITED over 30 per minute per client address by default.",
  })
  async refreshToken(
    @Arg("refreshToken", () => String, { nullable: true, description: "The refresh token; omit it to use the gh_refresh cookie." })
    refreshToken: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    const presented = resolveRefreshToken(ctx, refreshToken);
    return deliverTokens(ctx, await refreshTokens(ctx.deps, presented.token, ctx.meta), { fromCookie: presented.fromCookie });
  }

  @Public()
  @AllowPendingMfa()
  @Mutation(() => Boolean, {
    description:
      "Ends the session the refresh token belongs to and returns true. Without the argument the gh_refresh cookie is used " +
      "(FORBIDDEN from a foreign browser Origin, as for refreshToken), and the cookie is cleared. UNAUTHENTICATED for an " +
      "unknown or already used token.",
  })
  logout(
    @Arg("refreshToken", () => String, { nullable: true, description: "The refresh token; omit it to use the gh_refresh cookie." })
    refreshToken: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const presented = resolveRefreshToken(ctx, refreshToken);
    // Cleared whatever the outcome: a dead or unknown cookie is of no use to the browser either.
    if (presented.fromCookie || wantsCookieTransport(ctx)) clearRefreshCookie(ctx);
    return logout(ctx.deps, presented.token, ctx.meta);
  }

  @Auth()
  @AllowPendingMfa()
  @Mutation(() => Boolean, {
    description: "Ends every session of the caller, this one included: every access and refresh token stops working. Always true.",
  })
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.viewer();
    return logoutAll(ctx.deps, user.id, ctx.meta);
  }

  @Auth()
  @Query(() => [Session], { description: "The caller's live sessions (neither revoked nor expired), most recently used first." })
  async mySessions(@Ctx() ctx: Context): Promise<Session[]> {
    const viewer = await ctx.viewer();
    const rows = await listLiveSessions(ctx.deps.db, viewer.user.id);
    return rows.map((row) => toSessionView(row, viewer.sessionId));
  }

  @Auth()
  @Mutation(() => Boolean, {
    description:
      "Revokes one of the caller's own sessions (this one too, if asked) and returns true, also when it had ended already. " +
      "NOT_FOUND for anyone else's.",
  })
  async revokeSession(@Arg("id", () => ID, { description: "A Session.id from mySessions." }) id: string, @Ctx() ctx: Context): Promise<boolean> {
    const sessionId = parseId(id);
    const { user } = await ctx.viewer();
    if (!(await revokeOwnSession(ctx.deps, user.id, sessionId, ctx.meta))) throw notFound("No such session");
    return true;
  }
}
