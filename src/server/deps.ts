import type { Logger } from "pino";
import type { Hasher } from "../auth/password.js";
import type { TokenService } from "../auth/tokens.js";
import type { Config } from "../config.js";
import type { Database, Db } from "../db/client.js";
import type { Redis } from "ioredis";
import type { OutboxWorker } from "../email/outbox.js";
import type { Metrics } from "../observability/metrics.js";
import type { RateLimiter } from "../rate-limit/rate-limiter.js";

/** Everything a request handler may use. Services take `Pick<Deps, …>` of just what they need. */
export interface Deps {
  readonly config: Config;
  readonly database: Database;
  readonly db: Db;
  readonly hasher: Hasher;
  readonly tokens: TokenService;
  readonly logger: Logger;
  /** The email delivery worker: services call notify() after committing an email. */
  readonly outbox: OutboxWorker;
  readonly rateLimiter: RateLimiter;
  readonly metrics: Metrics;
  /** Set when REDIS_URL is: the shared store of the rate limits. */
  readonly redis: Redis | undefined;
}

/** Who is asking, as far as the transport can tell. */
export interface RequestMeta {
  readonly requestId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
}
