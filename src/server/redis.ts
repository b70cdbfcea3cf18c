import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * A Redis client that fails fast instead of queueing: while Redis is away, commands reject at once
 * (the rate limiter then counts in memory) and the client keeps reconnecting in the background.
 */
export function createRedisClient(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  });
  // Without a listener, ioredis prints every failed reconnect; the fallback store logs the outage once.
  redis.on("error", () => {});
  redis.on("ready", () => logger.debug("redis ready"));
  return redis;
}

/** Waits (bounded) for the first connection, so the first requests do not start in fallback mode. */
export async function waitForRedis(redis: Redis, logger: Logger, timeoutMs = 3000): Promise<void> {
  if (redis.status === "ready") return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    function onReady() {
      clearTimeout(timer);
      resolve(true);
    }
    redis.once("ready", onReady);
  });
  if (!ready) logger.warn("redis did not answer at start-up; rate limits count in memory until it does");
}
