import { UseMiddleware, type MiddlewareFn } from "type-graphql";
import type { Context } from "./context.js";
import { INVALID_EMAIL, emailKeyPart, ipKeyPart, userKeyPart } from "../rate-limit/keys.js";
import type { LimitName } from "../limits.js";

/** What a limit is counted per: a part of the key. */
export type KeyPart = "ip" | "email" | "user";

export interface RateRule {
  limit: LimitName;
  per: KeyPart[];
  /**
   * A call that succeeds gives its hit back, so the limit counts failures only (wrong second-factor
   * codes: an owner signing in on several devices must not run out, a guesser still gets `max` tries).
   */
  refundOnSuccess?: boolean;
}

function rawEmailOf(args: Record<string, unknown>): unknown {
  const input = args["input"] as Record<string, unknown> | undefined;
  return input?.["email"] ?? args["email"];
}

/** The rule's key, or null when the rule does not apply to this call. */
async function keyOf(per: KeyPart[], ctx: Context, args: Record<string, unknown>): Promise<string | null> {
  const parts: string[] = [];
  for (const part of per) {
    if (part === "ip") parts.push(ipKeyPart(ctx.meta.ip));
    else if (part === "email") parts.push(emailKeyPart(rawEmailOf(args)));
    else parts.push(userKeyPart((await ctx.viewer()).user.id));
  }
  // An invalid email names no account: a limit per email alone does not apply (the service refuses
  // the input, and the field's per-address limits still count it), so a typo never spends a shared
  // "invalid" counter that everyone's typos would exhaust. With the address in the key it applies.
  if (per.every((p) => p === "email") && parts.every((p) => p === `email=${INVALID_EMAIL}`)) return null;
  return parts.join("|");
}

/**
 * Rate limits for one field, declared next to its resolver. Every call counts, aliases included:
 * each alias runs this middleware, and the store counts atomically.
 */
export function RateLimit(...rules: RateRule[]) {
  const middleware: MiddlewareFn<Context> = async ({ context, args }, next) => {
    const limiter = context.deps.rateLimiter;
    const refundable: Array<{ release(): Promise<void> }> = [];
    if (limiter.enabled) {
      // All of a field's limits pass together or none is charged: a call refused by its second limit
      // gives back the slot its first one took (else refusals on one key would spend another's quota).
      const taken: Array<{ release(): Promise<void> }> = [];
      try {
        for (const rule of rules) {
          const key = await keyOf(rule.per, context, args);
          if (key === null) continue;
          const hit = await limiter.check(rule.limit, key);
          taken.push(hit);
          if (rule.refundOnSuccess) refundable.push(hit);
        }
      } catch (err) {
        await Promise.all(taken.map((t) => t.release()));
        throw err;
      }
    }
    const result: unknown = await next();
    await Promise.all(refundable.map((t) => t.release()));
    return result;
  };
  return UseMiddleware(middleware);
}
