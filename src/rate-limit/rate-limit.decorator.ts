import { UseMiddleware, type MiddlewareFn } from "type-graphql";
import type { Context } from "../graphql/context.js";
import type { LimitName } from "./limits.js";

/** What a limit is counted per: a part of the key. */
export type KeyPart = "ip" | "email" | "user";

export interface RateRule {
  limit: LimitName;
  per: KeyPart[];
}

function emailOf(args: Record<string, unknown>): string {
  const input = args["input"] as Record<string, unknown> | undefined;
  const raw = input?.["email"] ?? args["email"];
  // Normalised as the services do, so "A@x.io " and "a@x.io" share one counter.
  return typeof raw === "string" ? raw.trim().toLowerCase() : "";
}

async function keyOf(per: KeyPart[], ctx: Context, args: Record<string, unknown>): Promise<string> {
  const parts: string[] = [];
  for (const part of per) {
    if (part === "ip") parts.push(`ip=${ctx.meta.ip ?? "unknown"}`);
    else if (part === "email") parts.push(`email=${emailOf(args)}`);
    else parts.push(`user=${(await ctx.viewer()).user.id}`);
  }
  return parts.join("|");
}

/**
 * Rate limits for one field, declared next to its resolver. Every call counts, aliases included:
 * each alias runs this middleware, and the store counts atomically.
 */
export function RateLimit(...rules: RateRule[]) {
  const middleware: MiddlewareFn<Context> = async ({ context, args }, next) => {
    const limiter = context.deps.rateLimiter;
    if (limiter.enabled) {
      // All of a field's limits pass together or none is charged: a call refused by its second limit
      // gives back the slot its first one took (else refusals on one key would spend another's quota).
      const taken: Array<{ release(): Promise<void> }> = [];
      try {
        for (const rule of rules) taken.push(await limiter.check(rule.limit, await keyOf(rule.per, context, args)));
      } catch (err) {
        await Promise.all(taken.map((t) => t.release()));
        throw err;
      }
    }
    return next();
  };
  return UseMiddleware(middleware);
}
