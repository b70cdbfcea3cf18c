import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { notFound } from "../errors.js";
import { Auth, Public } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { parseId } from "../lib/validation.js";
import { User } from "../users/user.types.js";
import { toUserView } from "../users/user.view.js";
import { AuthPayload, LoginInput, RegisterInput, Session } from "./auth.types.js";
import { toAuthPayloadView, toSessionView } from "./auth.view.js";
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
    return toUserView(await register(ctx.deps, input, ctx.meta));
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
      "password. RATE_LIMITED over 10 per 15 minutes per client address and email by default (and wider limits per address and per account).",
  })
  async login(
    @Arg("input", () => LoginInput, { description: "The account's email and password." }) input: LoginInput,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    return toAuthPayloadView(await login(ctx.deps, input, ctx.meta));
  }

  @Public()
  @RateLimit({ limit: "refreshToken", per: ["ip"] })
  @Mutation(() => AuthPayload, {
    description:
      "Exchanges a refresh token for a new pair in the same session. Each refresh token works once; reusing one revokes its session. " +
      "UNAUTHENTICATED with reason INVALID_TOKEN (unknown), SESSION_REVOKED (used, or the session ended) or ACCOUNT_INACTIVE; " +
      "RATE_LIMITED over 30 per minute per client address by default.",
  })
  async refreshToken(
    @Arg("refreshToken", () => String, { description: "The latest refresh token of the session." }) refreshToken: string,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    return toAuthPayloadView(await refreshTokens(ctx.deps, refreshToken, ctx.meta));
  }

  @Public()
  @Mutation(() => Boolean, {
    description: "Ends the session that the refresh token belongs to and returns true. UNAUTHENTICATED for an unknown or already used token.",
  })
  logout(
    @Arg("refreshToken", () => String, { description: "The latest refresh token of the session to end." }) refreshToken: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return logout(ctx.deps, refreshToken, ctx.meta);
  }

  @Auth()
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
