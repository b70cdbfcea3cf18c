import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { Public } from "../graphql/access.js";
import { RateLimit } from "../graphql/rate-limit.js";
import type { Context } from "../graphql/context.js";
import { ResetPasswordInput } from "./auth.types.js";
import { requestPasswordReset, resetPassword } from "./password-reset.service.js";

@Resolver()
export class PasswordResetResolver {
  @Public()
  @RateLimit({ limit: "requestPasswordReset", per: ["email"] }, { limit: "requestPasswordResetIp", per: ["ip"] })
  @Mutation(() => Boolean, {
    description:
      "True whatever the address, so the answer never tells whether an account exists (only a malformed one is BAD_USER_INPUT). " +
      "Sends a reset link (valid 1 hour, single use) when an active account has this address, and nothing otherwise. " +
      "RATE_LIMITED over 3 per hour per email or 10 per client address by default.",
  })
  requestPasswordReset(
    @Arg("email", () => String, { description: "The address of the account whose password was forgotten." }) email: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return requestPasswordReset(ctx.deps, email, ctx.meta);
  }

  @Public()
  @Mutation(() => Boolean, {
    description:
      "Sets a new password with a reset link's token (single use) and returns true. Ends every session, cancels a pending email " +
      "change and every other reset link, and mails a notice. BAD_USER_INPUT on token for an unknown, expired or used link.",
  })
  resetPassword(
    @Arg("input", () => ResetPasswordInput, { description: "The link's token and the new password." }) input: ResetPasswordInput,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return resetPassword(ctx.deps, input, ctx.meta);
  }
}
