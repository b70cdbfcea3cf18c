import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import { forbidden } from "../../errors.js";
import { AllowPendingMfa, Auth } from "../../graphql/access.js";
import type { Context } from "../../graphql/context.js";
import { RateLimit } from "../../graphql/rate-limit.js";
import { parseId } from "../../lib/validation.js";
import { User } from "../../users/user.types.js";
import { toUserView } from "../../users/user.view.js";
import { AuthPayload } from "../auth.types.js";
import { deliverTokens } from "../../graphql/token-transport.js";
import { disableTotp, regenerateRecoveryCodes, resetUserMfa, verifyMfa } from "./mfa.service.js";
import { MfaStatus, TotpSetup } from "./mfa.types.js";
import { confirmTotpSetup, startTotpSetup } from "./totp-setup.service.js";

const CODE = "A 6-digit code from the authenticator app, or one of the recovery codes.";
// One budget per user for every field that checks a code or the password here (limits.ts: mfaCode).
// Failures only: a call that succeeds gives its slot back, so signing in on several devices never runs out.
const codeLimit = () => RateLimit({ limit: "mfaCode", per: ["user"], refundOnSuccess: true });

@Resolver()
export class MfaResolver {
  @Auth()
  @codeLimit()
  @Mutation(() => TotpSetup, {
    description: "An authenticated user. Starts TOTP enrolment with the current password: a new secret, on only after confirmTotpSetup.",
  })
  async startTotpSetup(
    @Arg("currentPassword", () => String, { description: "The account's password, checked again." }) currentPassword: string,
    @Ctx() ctx: Context,
  ): Promise<TotpSetup> {
    const { user } = await ctx.viewer();
    return Object.assign(new TotpSetup(), await startTotpSetup(ctx.deps, user, currentPassword, ctx.meta));
  }

  @Auth()
  @codeLimit()
  @Mutation(() => [String], {
    description: "An authenticated user. Turns TOTP on with a code of the new secret; returns 10 recovery codes, shown this once.",
  })
  async confirmTotpSetup(
    @Arg("code", () => String, { description: "The 6-digit code the authenticator app shows for the new secret." }) code: string,
    @Ctx() ctx: Context,
  ): Promise<string[]> {
    const { user, sessionId } = await ctx.viewer();
    return confirmTotpSetup(ctx.deps, user, sessionId, code, ctx.meta);
  }

  @Auth()
  @AllowPendingMfa()
  @codeLimit()
  @Mutation(() => AuthPayload, {
    description:
      "An authenticated user, pending sessions included. Completes a pending session with a TOTP or recovery code and returns a fresh pair.",
  })
  async verifyMfa(@Arg("code", () => String, { description: CODE }) code: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    return deliverTokens(ctx, await verifyMfa(ctx.deps, await ctx.viewer(), code, ctx.meta));
  }

  @Auth()
  @codeLimit()
  @Mutation(() => Boolean, { description: "An authenticated user. Turns TOTP off; needs a current TOTP code or a recovery code." })
  async disableTotp(@Arg("code", () => String, { description: CODE }) code: string, @Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.viewer();
    return disableTotp(ctx.deps, user, code, ctx.meta);
  }

  @Auth()
  @codeLimit()
  @Mutation(() => [String], {
    description: "An authenticated user. Replaces the recovery codes with 10 new ones (shown this once); needs a current code.",
  })
  async regenerateRecoveryCodes(@Arg("code", () => String, { description: CODE }) code: string, @Ctx() ctx: Context): Promise<string[]> {
    const { user } = await ctx.viewer();
    return regenerateRecoveryCodes(ctx.deps, user, code, ctx.meta);
  }

  @Auth("ADMIN")
  @Mutation(() => User, {
    description: "Admins only. Removes every second factor of a user who lost them all; the user is told by email.",
  })
  async resetUserMfa(@Arg("id", () => ID, { description: "The user's id." }) id: string, @Ctx() ctx: Context): Promise<User> {
    const userId = parseId(id);
    const { user: admin } = await ctx.viewer();
    return toUserView(await resetUserMfa(ctx.deps, admin.id, userId, ctx.meta));
  }
}

@Resolver(() => User)
export class UserMfaResolver {
  /** Batched per request (UserLoaders.mfaStatus): a page of users costs two queries, not two per user. */
  @FieldResolver(() => MfaStatus, { description: "The account's second factors: for the account itself and for admins." })
  async mfa(@Root() user: User, @Ctx() ctx: Context): Promise<MfaStatus> {
    if (!user.isCaller) {
      const viewer = await ctx.viewer();
      if (viewer.user.id !== user.id && viewer.user.role !== "ADMIN") throw forbidden("Only the account itself and admins see its second factors");
    }
    return Object.assign(new MfaStatus(), await ctx.loaders.mfaStatus.load(user.id));
  }
}
