import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { notFound } from "../errors.js";
import { AllowPendingMfa, Auth, Public } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { parseId } from "../lib/validation.js";
import { User } from "../users/user.types.js";
import { toOwnUserView } from "../users/user.view.js";
import { AuthPayload, LoginInput, RegisterInput, Session } from "./auth.types.js";
import { toAuthPayloadView, toSessionView } from "./auth.view.js";
import { login, logout, logoutAll, refreshTokens, register } from "./auth.service.js";
import { listLiveSessions, revokeOwnSession } from "./sessions.service.js";

@Resolver()
export class AuthResolver {
  @Public()
  @RateLimit({ limit: "register", per: ["ip"] })
  @Mutation(() => User, { description: "Creates a USER account. Log in afterwards to get tokens." })
  async register(@Arg("input", () => RegisterInput) input: RegisterInput, @Ctx() ctx: Context): Promise<User> {
    return toOwnUserView(await register(ctx.deps, input, ctx.meta));
  }

  @Public()
  // Per address and account, and per address across all emails (spraying). The per-account limit across
  // all addresses (distributed guessing) is the service's: it counts only attempts that reach a password
  // check and spares the account's known addresses. No lockout: the windows roll.
  @RateLimit({ limit: "login", per: ["ip", "email"] }, { limit: "loginIp", per: ["ip"] })
  @Mutation(() => AuthPayload, { description: "Opens a session. Unknown email and wrong password give the same error." })
  async login(@Arg("input", () => LoginInput) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return toAuthPayloadView(await login(ctx.deps, input, ctx.meta));
  }

  @Public()
  @RateLimit({ limit: "refreshToken", per: ["ip"] })
  @Mutation(() => AuthPayload, {
    description: "Exchanges a refresh token for a new pair. Each refresh token works once; reusing one revokes its session.",
  })
  async refreshToken(@Arg("refreshToken", () => String) refreshToken: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    return toAuthPayloadView(await refreshTokens(ctx.deps, refreshToken, ctx.meta));
  }

  @Public()
  @AllowPendingMfa()
  @Mutation(() => Boolean, { description: "Ends the session that the refresh token belongs to." })
  logout(@Arg("refreshToken", () => String) refreshToken: string, @Ctx() ctx: Context): Promise<boolean> {
    return logout(ctx.deps, refreshToken, ctx.meta);
  }

  @Auth()
  @AllowPendingMfa()
  @Mutation(() => Boolean, { description: "Ends every session of the caller, this one included." })
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.viewer();
    return logoutAll(ctx.deps, user.id, ctx.meta);
  }

  @Auth()
  @Query(() => [Session], { description: "The caller's live sessions, most recently used first." })
  async mySessions(@Ctx() ctx: Context): Promise<Session[]> {
    const viewer = await ctx.viewer();
    const rows = await listLiveSessions(ctx.deps.db, viewer.user.id);
    return rows.map((row) => toSessionView(row, viewer.sessionId));
  }

  @Auth()
  @Mutation(() => Boolean, { description: "Revokes one of the caller's own sessions (NOT_FOUND for anyone else's)." })
  async revokeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    const sessionId = parseId(id);
    const { user } = await ctx.viewer();
    if (!(await revokeOwnSession(ctx.deps, user.id, sessionId, ctx.meta))) throw notFound("No such session");
    return true;
  }
}
