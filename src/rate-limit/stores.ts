import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { safeError } from "../lib/safe-error.js";

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

export interface MemoryHitStoreOptions {
  /** At most this many keys (default 100 000). */
  maxKeys?: number;
  /** At most about this many bytes of keys and hits (default 32 MiB); least recently used go first. */
  maxBytes?: number;
  /** At most this many hits per key (default 10 000): a limit above it is enforced at it. */
  maxHitsPerKey?: number;
}

/** The in-process store, with what it holds for operators and tests. */
export interface MemoryHitStore extends HitStore {
  /** Bytes held, as estimated by the store; never above `maxBytes`. */
  readonly size: number;
  readonly maxBytes: number;
  /** The keys held, most recently used first. */
  keys(): string[];
  /** How many hits a key holds in its current window (0 when absent). */
  count(key: string, windowMs: number): number;
}

/** Sorted hit times and their ids (two number arrays: 16 bytes a hit, not an object each). */
interface Hits {
  at: number[];
  id: number[];
}

/** A key's estimated footprint: its characters (UTF-16), 16 bytes a hit, and the entry's own objects. */
const ENTRY_OVERHEAD = 160;
const sizeOf = (hits: Hits, key: string): number => ENTRY_OVERHEAD + key.length * 2 + hits.at.length * 16;

/**
 * Bounded in-process store: at most `maxKeys` keys and about `maxBytes` bytes, least recently used
 * evicted first, expired hits dropped. Keys are bounded by their builder (keys.ts); hits per key by
 * the limit (only counted hits are kept) and by `maxHitsPerKey`, so that no key can outgrow an entry.
 */
export function createMemoryHitStore(options: MemoryHitStoreOptions = {}): MemoryHitStore {
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const maxHitsPerKey = options.maxHitsPerKey ?? 10_000;
  const cache = new LRUCache<string, Hits>({
    max: options.maxKeys ?? 100_000,
    maxSize: maxBytes,
    sizeCalculation: sizeOf,
    ttlAutopurge: false,
  });
  let sequence = 0;
  const live = (key: string, windowMs: number, now: number): Hits => {
    const hits = cache.get(key) ?? { at: [], id: [] };
    const firstLive = hits.at.findIndex((at) => at > now - windowMs);
    const expired = firstLive === -1 ? hits.at.length : firstLive;
    if (expired > 0) {
      hits.at.splice(0, expired);
      hits.id.splice(0, expired);
    }
    return hits;
  };
  return {
    get size() {
      return cache.calculatedSize;
    },
    maxBytes,
    keys: () => [...cache.keys()],
    count: (key, windowMs) => (cache.has(key) ? live(key, windowMs, Date.now()).at.length : 0),
    async hit(key, max, windowMs) {
      const now = Date.now();
      const hits = live(key, windowMs, now);
      const allowed = hits.at.length < Math.min(max, maxHitsPerKey);
      const id = allowed ? ++sequence : undefined;
      if (id !== undefined) {
        hits.at.push(now);
        hits.id.push(id);
      }
      // Set again so that the cache recounts the entry's size (and evicts others if it must).
      cache.set(key, hits, { ttl: windowMs });
      const oldest = hits.at[0] ?? now;
      return {
        count: allowed ? hits.at.length - 1 : hits.at.length,
        allowed,
        resetMs: Math.max(0, oldest + windowMs - now),
        ...(id !== undefined ? { id: String(id) } : {}),
      };
    },
    async undo(key, id) {
      const hits = cache.get(key);
      const index = hits ? hits.id.indexOf(Number(id)) : -1;
      if (!hits || index === -1) return;
      hits.at.splice(index, 1);
      hits.id.splice(index, 1);
      if (hits.at.length === 0) cache.delete(key);
      else cache.set(key, hits, { noUpdateTTL: true });
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
