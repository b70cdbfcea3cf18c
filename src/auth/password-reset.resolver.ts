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
    description: "Always true. Sends a reset link (valid 1 hour) when an active account has this address, and nothing otherwise.",
  })
  requestPasswordReset(@Arg("email", () => String) email: string, @Ctx() ctx: Context): Promise<boolean> {
    return requestPasswordReset(ctx.deps, email, ctx.meta);
  }

  @Public()
  @Mutation(() => Boolean, { description: "Sets a new password with a reset link's token (single use) and ends every session." })
  resetPassword(@Arg("input", () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: Context): Promise<boolean> {
    return resetPassword(ctx.deps, input, ctx.meta);
  }
}
