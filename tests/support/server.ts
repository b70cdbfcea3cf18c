import "reflect-metadata";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import { sql } from "drizzle-orm";
import { createArgon2Hasher } from "../../src/auth/password.js";
import type { Hasher } from "../../src/deps.js";
import { loadConfig, type Config } from "../../src/config.js";
import type { MailTransport } from "../../src/email/transport.js";
import type { MemoryHitStore } from "../../src/rate-limit/stores.js";
import { createApp } from "../../src/server/app.js";
import type { Deps } from "../../src/deps.js";
import { createDeps } from "../../src/server/create-deps.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

/** Real argon2id at a tiny cost: for tests that are not about hashing. */
export const fastHasher = (): Hasher => createArgon2Hasher({ memoryCost: 256, timeCost: 1, parallelism: 1 });

export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long!";
/** Production refuses to start without ENCRYPTION_SECRET; test servers and processes pass this one. */
export const TEST_ENCRYPTION_SECRET = "test-encryption-key-of-32-bytes-or-more!";

/** A password the policy accepts (zxcvbn score 4). */
export const STRONG_PASSWORD = "correct horse battery staple";
export const OTHER_STRONG_PASSWORD = "Lighthouse-Marmalade-Quartz-91";

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: string[]; extensions: Record<string, unknown> & { code: string } }>;
  };
}

export interface GqlOptions {
  token?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  deps: Deps;
  config: Config;
  testDb: TestDatabase;
  /** POST /graphql as a client would. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<GqlResponse<T>>;
  /** Empties every table (between tests that count rows or admins). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  hasher?: Hasher;
  logger?: Logger;
  /** Where emails go; default: the transport the env selects (log, silent). */
  mailTransport?: MailTransport;
  /** Run the outbox worker (polling every 25 ms); default true. */
  outboxWorker?: boolean;
  /** Reuse a database (e.g. a second instance on the same PostgreSQL). */
  testDb?: TestDatabase;
  /** The in-process rate-limit store to use (to inspect it). */
  rateLimitMemory?: MemoryHitStore;
  /** The clock of the TOTP window (tests/support/mfa.ts's createTestClock). */
  now?: () => number;
  /** The signing keys' re-read and rotation timer, in ms (default one minute). */
  keySetReloadMs?: number;
}

let counter = 0;
/** A unique, valid address per call, so tests in one file never collide. */
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}.${process.pid}.${Date.now().toString(36)}.${counter}@example.com`;
}

/** A Gatehouse on a fresh test database, listening on a free port; rate limits off unless `env` sets RATE_LIMITS: "on". */
export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const testDb = options.testDb ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: "test",
    JWT_SECRET: TEST_JWT_SECRET,
    ...(options.env?.["NODE_ENV"] === "production" ? { ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET } : {}),
    // Off unless the test is about them (it passes RATE_LIMITS: "on").
    RATE_LIMITS: "off",
    ...(testDb.url ? { DATABASE_URL: testDb.url } : {}),
    ...options.env,
  });
  const logger = options.logger ?? pino({ level: "silent" });
  const deps = await createDeps(config, logger, {
    database: testDb.database,
    hasher: options.hasher ?? fastHasher(),
    ...(options.mailTransport ? { mailTransport: options.mailTransport } : {}),
    outbox: { pollIntervalMs: 25 },
    ...(options.rateLimitMemory ? { rateLimitMemory: options.rateLimitMemory } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.keySetReloadMs ? { keySetReloadMs: options.keySetReloadMs } : {}),
  });
  if (options.outboxWorker !== false) deps.outbox.start();
  await deps.keys.start();
  const app = await createApp(deps);
  const server: Server = createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    deps,
    config,
    testDb,
    async gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, opts: GqlOptions = {}): Promise<GqlResponse<T>> {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...opts.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>["body"] };
    },
    async reset() {
      await deps.db.execute(
        sql`truncate table refresh_tokens, sessions, audit_events, email_tokens, email_outbox, recovery_codes, user_mfa,
          user_identities, oauth_flows, users cascade`,
      );
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.stop();
      await deps.outbox.stop();
      await deps.keys.stop();
      deps.redis?.disconnect();
      if (!options.testDb) await testDb.drop();
    },
  };
}
