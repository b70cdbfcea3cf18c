import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { AuthPayload } from "../auth/auth.types.js";
import { AllowPendingMfa, Auth } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { deliverTokens } from "../graphql/token-transport.js";
import { User } from "../users/user.types.js";
import { toOwnUserView, toUserView } from "../users/user.view.js";
import { ChangePasswordInput, UpdateMeInput } from "./me.types.js";
import { changePassword, deactivateMe, updateMe } from "./me.service.js";

@Resolver()
export class MeResolver {
  @Auth()
  @AllowPendingMfa()
  @Query(() => User, { description: "The caller's own account, read fresh on each request." })
  async me(@Ctx() ctx: Context): Promise<User> {
    return toOwnUserView((await ctx.viewer()).user);
  }

  @Auth()
  @Mutation(() => User, {
    description:
      "Changes the caller's profile and returns it. Fields left out or null stay as they are. A new email needs currentPassword " +
      "and only becomes pendingEmail (CONFLICT when another account has it; RATE_LIMITED over 5 such requests per hour by default).",
  })
  async updateMe(
    @Arg("input", () => UpdateMeInput, { description: "The changes to make." }) input: UpdateMeInput,
    @Ctx() ctx: Context,
  ): Promise<User> {
    const { user } = await ctx.viewer();
    return toUserView(await updateMe(ctx.deps, user, input, ctx.meta));
  }

  @Auth()
  @RateLimit({ limit: "changePassword", per: ["user"] })
  @Mutation(() => AuthPayload, {
    description:
      "Checks the current password, sets the new one, revokes every session (this one included) and returns a fresh pair in a new " +
      "session. Also cancels a pending email change and unused reset links, and mails a notice. RATE_LIMITED over 3 per hour per user by default.",
  })
  async changePassword(
    @Arg("input", () => ChangePasswordInput, { description: "The current and the new password." }) input: ChangePasswordInput,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    const { user, sessionId } = await ctx.viewer();
    return deliverTokens(ctx, await changePassword(ctx.deps, user, input, ctx.meta, sessionId));
  }

  @Auth()
  @Mutation(() => Boolean, {
    description:
      "Deactivates the caller's account, ends its sessions and returns true; only an admin can activate it again. " +
      "The last active admin is refused with FORBIDDEN.",
  })
  async deactivateMe(
    @Arg("confirm", () => Boolean, { description: "Must be true (false is BAD_USER_INPUT on confirm): a guard against a stray call." })
    confirm: boolean,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const { user } = await ctx.viewer();
    return deactivateMe(ctx.deps, user, confirm, ctx.meta);
  }
}
