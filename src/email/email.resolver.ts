import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { Auth, Public } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { User } from "../users/user.types.js";
import { toUserView } from "../users/user.view.js";
import { resendVerificationEmail, verifyEmail } from "./email.service.js";

@Resolver()
export class EmailResolver {
  @Public()
  @Mutation(() => User, {
    description:
      "Spends a token from a verification or email-change link (valid 24 hours, single use): marks the address verified, or swaps " +
      "in the pending address. Returns the account. BAD_USER_INPUT on token for an unknown, expired, used or superseded link; " +
      "CONFLICT when another account took the pending address meanwhile.",
  })
  async verifyEmail(
    @Arg("token", () => String, { description: "The token parameter of the link's URL." }) token: string,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return toUserView(await verifyEmail(ctx.deps, token, ctx.meta));
  }

  @Auth()
  @RateLimit({ limit: "resendVerificationEmail", per: ["user"] })
  @Mutation(() => Boolean, {
    description:
      "Sends a new verification link to the caller's address (older links stop working) and returns true; false, sending nothing, " +
      "when the address is already verified. RATE_LIMITED over 3 per hour per user by default.",
  })
  async resendVerificationEmail(@Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.viewer();
    return resendVerificationEmail(ctx.deps, user);
  }
}
