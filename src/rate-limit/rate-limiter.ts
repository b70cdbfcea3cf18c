import type { GraphQLResolveInfo } from "graphql";
import { getGraphQLRateLimiter, type Store } from "graphql-rate-limit";
import { AppError, ErrorCode } from "../errors.js";
import type { FallbackHitStore, HitResult, HitStore } from "./stores.js";
import type { Limit, LimitName } from "./limits.js";

export interface RateLimiter {
  readonly enabled: boolean;
  /**
   * Counts one call of `name` for `key`; throws RATE_LIMITED once over the limit. On success returns
   * `release`, which gives the hit back (the call was refused by another limit of the same field).
   */
  check(name: LimitName, key: string): Promise<{ release(): Promise<void> }>;
  /** "memory", "redis", or "degraded" (Redis configured but not answering; counting in memory). */
  status(): "memory" | "redis" | "degraded";
}

/**
 * graphql-rate-limit's Store API is get-then-set, which races: two parallel calls both read N-1 and
 * both pass. This adapter makes the get the atomic step (HitStore.hit records the call only when under
 * the limit) and the set a no-op, so the library's own decision (count + 1 > max) is the store's.
 */
class AtomicStoreAdapter implements Store {
  readonly last = new Map<string, HitResult>();
  constructor(
    private readonly hits: HitStore,
    private readonly limit: Limit,
  ) {}

  async getForIdentity(identity: { contextIdentity: string; fieldIdentity: string }): Promise<readonly number[]> {
    const key = `${identity.fieldIdentity}:${identity.contextIdentity}`;
    const result = await this.hits.hit(key, this.limit.max, this.limit.windowMs);
    this.last.set(key, result);
    return new Array<number>(result.count).fill(Date.now());
  }

  setForIdentity(): void {
    // Already recorded, atomically, by getForIdentity.
  }
}

export function createRateLimiter(
  limits: Readonly<Record<LimitName, Limit>>,
  hits: HitStore | FallbackHitStore,
  options: { enabled: boolean; shared: boolean; onRefused?: (limit: LimitName) => void },
): RateLimiter {
  const perLimit = new Map(
    (Object.keys(limits) as LimitName[]).map((name) => {
      const store = new AtomicStoreAdapter(hits, limits[name]);
      const limiter = getGraphQLRateLimiter({ store, identifyContext: (ctx: { key: string }) => ctx.key });
      return [name, { store, limiter }] as const;
    }),
  );
  return {
    enabled: options.enabled,
    status: () => ("status" in hits && hits.status() === "degraded" ? "degraded" : options.shared ? "redis" : "memory"),
    async check(name, key) {
      if (!options.enabled) return { release: async () => {} };
      const { store, limiter } = perLimit.get(name)!;
      const limit = limits[name];
      const refused = await limiter(
        { parent: undefined, args: {}, context: { key }, info: { fieldName: name } as GraphQLResolveInfo },
        // A string window (a number silently disables the limit); refused calls do not count.
        { max: limit.max, window: limit.window, uncountRejected: true },
      );
      // Read and forget at once: the map never outgrows the calls in flight.
      const storeKey = `${name}:${key}`;
      const result = store.last.get(storeKey);
      store.last.delete(storeKey);
      if (!refused) {
        const id = result?.id;
        return { release: async () => (id ? hits.undo(storeKey, id) : undefined) };
      }
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
