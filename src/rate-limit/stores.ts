import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { safeError } from "../lib/logger.js";

export interface HitResult {
  /** Hits already in the window before this one. */
  count: number;
  /** Whether this hit was counted (count < max); refused hits are not. */
  allowed: boolean;
  /** Milliseconds until the oldest hit in the window leaves it. */
  resetMs: number;
  /** Identifies the recorded hit (when allowed), so that it can be given back. */
  id?: string;
}

/**
 * A sliding-window log with one atomic operation: drop expired hits, and record this one only when
 * under the limit. Atomic per key, so parallel calls (aliases in one request, or requests on several
 * instances sharing Redis) cannot both take the last slot.
 */
export interface HitStore {
  hit(key: string, max: number, windowMs: number): Promise<HitResult>;
  /** Gives back a recorded hit: the call it counted was refused by another limit. */
  undo(key: string, id: string): Promise<void>;
}

/** Bounded in-process store: at most `maxKeys` keys, least recently used evicted, expired ones dropped. */
export function createMemoryHitStore(maxKeys = 100_000): HitStore {
  const cache = new LRUCache<string, Array<{ at: number; id: string }>>({ max: maxKeys, ttlAutopurge: false });
  return {
    async hit(key, max, windowMs) {
      const now = Date.now();
      const hits = (cache.get(key) ?? []).filter((h) => h.at > now - windowMs);
      const allowed = hits.length < max;
      const id = allowed ? randomUUID() : undefined;
      if (id) hits.push({ at: now, id });
      cache.set(key, hits, { ttl: windowMs });
      const oldest = hits[0]?.at ?? now;
      return { count: allowed ? hits.length - 1 : hits.length, allowed, resetMs: Math.max(0, oldest + windowMs - now), ...(id ? { id } : {}) };
    },
    async undo(key, id) {
      const hits = cache.get(key);
      if (hits) cache.set(key, hits.filter((h) => h.id !== id), { noUpdateTTL: true });
    },
  };
}

/* Server time (TIME) so that instances with drifting clocks agree on the window. */
const HIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < max then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {count, allowed, reset}
`;

export function createRedisHitStore(redis: Redis, prefix: string): HitStore {
  redis.defineCommand("gatehouseHit", { numberOfKeys: 1, lua: HIT_SCRIPT });
  const run = redis as Redis & { gatehouseHit(key: string, windowMs: number, max: number, member: string): Promise<[number, number, number]> };
  return {
    async hit(key, max, windowMs) {
      const id = randomUUID();
      const [count, allowed, reset] = await run.gatehouseHit(prefix + key, windowMs, max, id);
      return { count, allowed: allowed === 1, resetMs: Math.max(0, reset), ...(allowed === 1 ? { id } : {}) };
    },
    async undo(key, id) {
      await redis.zrem(prefix + key, id);
    },
  };
}

export interface FallbackHitStore extends HitStore {
  /** "ok", or "degraded" while Redis does not answer and limits are kept in memory. */
  status(): "ok" | "degraded";
}

/**
 * Redis when it answers; the in-memory store (never no limit) while it does not, logged once per
 * outage. Limits are then per instance until Redis is back.
 */
export function createFallbackHitStore(primary: HitStore, fallback: HitStore, logger: Logger): FallbackHitStore {
  let degradedSince: number | undefined;
  return {
    status: () => (degradedSince === undefined ? "ok" : "degraded"),
    async hit(key, max, windowMs) {
      try {
        const result = await primary.hit(key, max, windowMs);
        if (degradedSince !== undefined) {
          logger.info({ downForMs: Date.now() - degradedSince }, "rate limits: Redis is back; limits are shared again");
          degradedSince = undefined;
        }
        return result;
      } catch (err) {
        if (degradedSince === undefined) {
          degradedSince = Date.now();
          logger.warn({ err: safeError(err) }, "rate limits: Redis does not answer; counting in memory on this instance until it does");
        }
        return fallback.hit(key, max, windowMs);
      }
    },
    async undo(key, id) {
      // The hit is in whichever store took it; the other ignores an unknown id.
      await Promise.all([primary.undo(key, id).catch(() => undefined), fallback.undo(key, id)]);
    },
  };
}
