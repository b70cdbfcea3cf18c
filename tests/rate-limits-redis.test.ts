import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTER } from "./support/flows.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";
import { captureLogs } from "./support/logs.js";

/*
 * Rate limits across instances (REDIS_URL) and while Redis is away. The shared-counter tests need a
 * real Redis (TEST_REDIS_URL); the outage test needs none (it points at a closed port) and always runs.
 */

const RESET = /* GraphQL */ `mutation Reset($email: String!) { requestPasswordReset(email: $email) }`;
const REDIS_URL = process.env.TEST_REDIS_URL;
/** Nothing listens here: Redis is "down" from the first request. */
const CLOSED_REDIS_URL = "redis://127.0.0.1:6390";

let addresses = 0;
const freshIp = (): string => `203.0.113.${++addresses}`;

function outcome(res: GqlResponse<unknown>): string {
  const errors = res.body.errors ?? [];
  if (errors.length === 0) return res.body.data ? "OK" : "NO_DATA";
  return errors.length === 1 ? errors[0]!.extensions.code : `ERRORS:${errors.map((e) => e.extensions.code).join(",")}`;
}

function register(t: TestServer, ip: string): Promise<GqlResponse<{ register: { id: string } }>> {
  return t.gql(
    REGISTER,
    { input: { email: uniqueEmail("redis"), password: STRONG_PASSWORD, fullName: "Redis Test" } },
    { headers: { "x-forwarded-for": ip } },
  );
}

function capturedLogger(): { logger: Logger; messages: () => string[] } {
  const { logger, lines } = captureLogs();
  return { logger, messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

async function readyz(t: TestServer): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${t.url}/readyz`);
  return { status: res.status, body: await res.json() };
}

describe.runIf(!!REDIS_URL)("rate limits shared by two instances through Redis", () => {
  const prefix = `test:${randomUUID()}:`;
  let a: TestServer;
  let b: TestServer;
  let redis: Redis;
  beforeAll(async () => {
    const env = { RATE_LIMITS: "on", TRUST_PROXY: "true", REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix };
    a = await startTestServer({ outboxWorker: false, env });
    b = await startTestServer({ outboxWorker: false, env, testDb: a.testDb });
    redis = new Redis(REDIS_URL!, { lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it("register: 3 on A and 3 on B from one address -> the 6th overall is refused", async () => {
    const ip = freshIp();
    const codes: string[] = [];
    for (const t of [a, a, a, b, b, b]) codes.push(outcome(await register(t, ip)));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
    expect(outcome(await register(a, ip))).toBe("RATE_LIMITED");
    // The counter lives in Redis under this deployment's prefix: 5 counted hits, refused ones not.
    const keys = await redis.keys(`${prefix}rl:*ip=${ip}`);
    expect(keys).toHaveLength(1);
    expect(await redis.zcard(keys[0]!)).toBe(5);
  });

  it("12 parallel requestPasswordReset for one email, split over A and B: exactly 3 pass", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).gql(RESET, { email }, { headers: { "x-forwarded-for": freshIp() } })),
    );
    const codes = results.map(outcome);
    expect(codes.filter((c) => c === "OK")).toHaveLength(3);
    expect(codes.filter((c) => c === "RATE_LIMITED")).toHaveLength(9);
  });

  it("/readyz reports Redis ok and shared rate limits on both instances", async () => {
    for (const t of [a, b]) {
      expect(await readyz(t)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok", signing: "ok", redis: "ok", rateLimits: "redis" } } });
    }
  });
});

describe("Redis configured but down", () => {
  const log = capturedLogger();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      outboxWorker: false,
      logger: log.logger,
      env: { RATE_LIMITS: "on", TRUST_PROXY: "true", REDIS_URL: CLOSED_REDIS_URL, REDIS_PREFIX: `test:${randomUUID()}:` },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("still enforces the limits in memory, logs the outage once, and /readyz answers 503", async () => {
    const ip = freshIp();
    const redisLines = (): number => log.messages().filter((m) => /redis/i.test(m) && !m.startsWith("readiness")).length;
    const codes: string[] = [outcome(await register(t, ip))];
    const afterFirst = redisLines();
    for (let i = 0; i < 6; i++) codes.push(outcome(await register(t, ip)));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED", "RATE_LIMITED"]);
    expect(await readyz(t)).toEqual({
      status: 503,
      body: { status: "unavailable", checks: { database: "ok", signing: "ok", redis: "unavailable", rateLimits: "degraded" } },
    });
    // One line for the outage, not one per request (7 rate-limited calls above).
    expect(log.messages().filter((m) => /rate limits: Redis does not answer/.test(m))).toHaveLength(1);
    expect(redisLines()).toBe(afterFirst);
  });
});
