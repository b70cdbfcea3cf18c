import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { AuthPayload } from "../auth/auth.types.js";
import { toAuthPayloadView } from "../auth/auth.view.js";
import { AllowPendingMfa, Auth } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { User } from "../users/user.types.js";
import { toOwnUserView, toUserView } from "../users/user.view.js";
import { ChangePasswordInput, UpdateMeInput } from "./me.types.js";
import { changePassword, deactivateMe, updateMe } from "./me.service.js";

@Resolver()
export class MeResolver {
  @Auth()
  @AllowPendingMfa()
  @Query(() => User, { description: "The caller's own account." })
  async me(@Ctx() ctx: Context): Promise<User> {
    return toOwnUserView((await ctx.viewer()).user);
  }

  @Auth()
  @Mutation(() => User, { description: "Changes the caller's profile. Fields left out or null stay as they are." })
  async updateMe(@Arg("input", () => UpdateMeInput) input: UpdateMeInput, @Ctx() ctx: Context): Promise<User> {
    const { user } = await ctx.viewer();
    return toUserView(await updateMe(ctx.deps, user, input, ctx.meta));
  }

  @Auth()
  @RateLimit({ limit: "changePassword", per: ["user"] })
  @Mutation(() => AuthPayload, {
    description: "Checks the current password, sets the new one, revokes every session and returns a fresh pair.",
  })
  async changePassword(@Arg("input", () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    const { user, sessionId } = await ctx.viewer();
    return toAuthPayloadView(await changePassword(ctx.deps, user, input, ctx.meta, sessionId));
  }

  @Auth()
  @Mutation(() => Boolean, {
    description: "Deactivates the caller's account and ends its sessions. confirm must be true. The last active admin is refused.",
  })
  async deactivateMe(@Arg("confirm", () => Boolean) confirm: boolean, @Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.viewer();
    return deactivateMe(ctx.deps, user, confirm, ctx.meta);
  }
}
