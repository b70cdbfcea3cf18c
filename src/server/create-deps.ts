import type { Logger } from "pino";
import { createArgon2Hasher, PRODUCTION_ARGON2 } from "../auth/password.js";
import { createOAuthProviders } from "../auth/oauth/providers.js";
import type { Deps, Hasher } from "../deps.js";
import { createTokenService } from "../auth/tokens.js";
import { createKeySet } from "../auth/keys/key-set.js";
import { ensureSigningKey } from "../auth/keys/rotation.service.js";
import type { Config } from "../config.js";
import { openDatabase, type Database } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";
import { createOutboxWorker, type OutboxWorkerOptions } from "../email/outbox.js";
import { createMailTransport, type MailTransport } from "../email/transport.js";
import { createMetrics } from "../observability/metrics.js";
import { createRateLimiter } from "../rate-limit/rate-limiter.js";
import { createFallbackHitStore, createMemoryHitStore, createRedisHitStore, type MemoryHitStore } from "../rate-limit/stores.js";
import { createRedisClient, waitForRedis } from "./redis.js";

export interface DepsOverrides {
  database?: Database;
  hasher?: Hasher;
  /** Replaces the transport the configuration selects (tests). */
  mailTransport?: MailTransport;
  outbox?: OutboxWorkerOptions;
  /** The in-process rate-limit store (or Redis's fallback), to inspect it (tests). */
  rateLimitMemory?: MemoryHitStore;
  /** How often the key set is re-read and a rotation looked for (tests; default KEY_SET_RELOAD_MS). */
  keySetReloadMs?: number;
  /** The clock of the TOTP window and of the signing keys' schedule (tests). */
  now?: () => number;
}

/** Opens (or takes) the database, applies migrations and assembles the request dependencies. */
export async function createDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<Deps> {
  const database =
    overrides.database ??
    (await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : `${config.dataDir}/pglite` }));
  try {
    await runMigrations(database, config.databaseUrl);
    const hasher = overrides.hasher ?? createArgon2Hasher(PRODUCTION_ARGON2, config.hashThreads);
    // Made now, not on the first unknown-email login, which would otherwise take twice as long.
    await hasher.dummyHash();
    const transport = overrides.mailTransport ?? createMailTransport(config, logger);
    const redis = config.redisUrl ? createRedisClient(config.redisUrl, logger) : undefined;
    if (redis) await waitForRedis(redis, logger);
    const memory = overrides.rateLimitMemory ?? createMemoryHitStore();
    const hits = redis ? createFallbackHitStore(createRedisHitStore(redis, `${config.redisPrefix}rl:`), memory, logger) : memory;
    const metrics = createMetrics(database);
    const now = overrides.now ?? Date.now;
    // Never throws for a provider that does not answer: it is logged and left out until a retry works.
    const oauth = await createOAuthProviders(config, logger, now);
    const keyDeps = { db: database.db, config, now, logger, redis };
    // ES256: every instance signs with the database's key set; the first start makes the first key.
    if (config.jwt.algorithm === "ES256") await ensureSigningKey(keyDeps);
    const keys = createKeySet(keyDeps, overrides.keySetReloadMs ? { reloadMs: overrides.keySetReloadMs } : {});
    await keys.reload();
    return {
      config,
      database,
      db: database.db,
      hasher,
      tokens: await createTokenService(config.jwt, keys),
      keys,
      logger,
      outbox: createOutboxWorker({ db: database.db, logger, config }, transport, overrides.outbox),
      rateLimiter: createRateLimiter(config.limits, hits, {
        enabled: config.rateLimits,
        shared: redis !== undefined,
        onRefused: (limit) => metrics.rateLimited.inc({ limit }),
      }),
      metrics,
      redis,
      oauth,
      now,
    };
  } catch (err) {
    if (!overrides.database) await database.close();
    throw err;
  }
}
