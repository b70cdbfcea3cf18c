import type { Logger } from "pino";
import type { Hasher } from "../auth/password.js";
import type { TokenService } from "../auth/tokens.js";
import type { Config } from "../config.js";
import type { Database, Db } from "../db/client.js";
import type { OutboxWorker } from "../email/outbox.js";

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
}

/** Who is asking, as far as the transport can tell. */
export interface RequestMeta {
  readonly requestId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
}
