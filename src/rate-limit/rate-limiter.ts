import type { GraphQLResolveInfo } from "graphql";
import { getGraphQLRateLimiter, type Store } from "graphql-rate-limit";
import { AppError, ErrorCode } from "../errors.js";
import type { FallbackHitStore, HitResult, HitStore } from "./stores.js";
import { boundKey } from "./keys.js";
import type { Limit, LimitName } from "../limits.js";
import type { RateLimiter } from "../deps.js";

/**
 * graphql-rate-limit's Store API is get-then-set, which races: two parallel calls both read N-1 and
 * both pass. This adapter makes the get the atomic step (HitStore.hit records the call only when under
 * the limit) and the set a no-op, so the library's decision is the store's. One adapter per call: it
 * carries that call's own result (its hit id, its reset time) back to `check`. A map shared by calls on
 * one key would hand one call another's result, and a refused call would then give back another call's
 * hit.
 *
 * The library is handed the store's decision as one slot, free or taken, against a max of one (SLOT):
 * its `count + 1 > max` becomes `slot + 1 > 1`. Handing it the count as `count` timestamps (as a plain
 * Store would) made every check copy and filter an array as long as the window's hits, reading the clock
 * once per hit: with a wide limit (RATE_LIMIT_LOGIN_IP for a busy NAT, or the benchmarks') that was most
 * of a login's rate-limit cost.
 */
class AtomicStoreAdapter implements Store {
  result: HitResult | undefined;
  constructor(
    private readonly hits: HitStore,
    private readonly limit: Limit,
    private readonly storeKey: string,
  ) {}

  async getForIdentity(): Promise<readonly number[]> {
    this.result = await this.hits.hit(this.storeKey, this.limit.max, this.limit.windowMs);
    // The store's own decision, so a cap of the store (the memory store's hits per key) refuses too: the
    // count alone said "under the limit" there, and the call passed uncounted. The library keeps
    // timestamps younger than the window: now is.
    return this.result.allowed ? NO_HITS : [Date.now()];
  }

  setForIdentity(): void {
    // Already recorded, atomically, by getForIdentity.
  }
}

/** The library's max: the store's decision arrives as one slot (see AtomicStoreAdapter). */
const SLOT = 1;
const NO_HITS: readonly number[] = Object.freeze([]);

const identifyContext = (ctx: { key: string }): string => ctx.key;

export function createRateLimiter(
  limits: Readonly<Record<LimitName, Limit>>,
  hits: HitStore | FallbackHitStore,
  options: { enabled: boolean; shared: boolean; onRefused?: (limit: LimitName) => void },
): RateLimiter {
  return {
    enabled: options.enabled,
    status: () => ("status" in hits && hits.status() === "degraded" ? "degraded" : options.shared ? "redis" : "memory"),
    async check(name, rawKey, checkOptions = {}) {
      if (!options.enabled) return { release: async () => {} };
      const limit = limits[name];
      const key = boundKey(rawKey);
      const storeKey = `${name}:${key}`;
      // getGraphQLRateLimiter only closes over its options: one per call costs an object, no I/O.
      const store = new AtomicStoreAdapter(hits, limit, storeKey);
      const limiter = getGraphQLRateLimiter({ store, identifyContext });
      const refused = await limiter(
        { parent: undefined, args: {}, context: { key }, info: { fieldName: name } as GraphQLResolveInfo },
        // A string window (a number silently disables the limit); refused calls do not count.
        { max: SLOT, window: limit.window, uncountRejected: true },
      );
      const result = store.result;
      if (!refused) {
        const id = result?.id;
        return { release: async () => (id ? hits.undo(storeKey, id) : undefined) };
      }
      if (checkOptions.exempt && (await checkOptions.exempt())) return { release: async () => {} };
      options.onRefused?.(name);
      const retryAfter = Math.max(1, Math.ceil((result?.resetMs ?? limit.windowMs) / 1000));
      throw new AppError(ErrorCode.RATE_LIMITED, `Too many attempts; retry in ${retryAfter} s`, {
        retryAfter,
        limit: limit.max,
        window: Math.round(limit.windowMs / 1000),
      });
    },
  };
}
