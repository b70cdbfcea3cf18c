import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailKeyPart, ipKeyPart } from "../src/rate-limit/keys.js";
import { createMemoryHitStore, type MemoryHitStore } from "../src/rate-limit/stores.js";
import { LOGIN } from "./support/flows.js";
import { startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * API.md §5: rate-limit keys are bounded whatever the input, the in-process store is bounded in bytes,
 * and each limiter call carries its own result (a refused call gives back its own hit, not another's).
 * Memory and, with TEST_REDIS_URL, Redis.
 */

const REDIS_URL = process.env.TEST_REDIS_URL;
const RESET = /* GraphQL */ `mutation Reset($email: String!) { requestPasswordReset(email: $email) }`;
const RESET_X8 = /* GraphQL */ `
  mutation Reset8($email: String!) {
    a: requestPasswordReset(email: $email) b: requestPasswordReset(email: $email)
    c: requestPasswordReset(email: $email) d: requestPasswordReset(email: $email)
    e: requestPasswordReset(email: $email) f: requestPasswordReset(email: $email)
    g: requestPasswordReset(email: $email) h: requestPasswordReset(email: $email)
  }
`;
/** Under the 100 kB body limit: the attack of the security review. */
const HUGE = 90_000;
const HOUR_MS = 3_600_000;

let addresses = 0;
const freshIp = (): string => `198.51.${Math.floor(addresses / 250)}.${(addresses++ % 250) + 1}`;
const from = (ip: string) => ({ headers: { "x-forwarded-for": ip } });

function outcome(res: GqlResponse<unknown>): string {
  const errors = res.body.errors ?? [];
  if (errors.length === 0) return res.body.data ? "OK" : "NO_DATA";
  return errors.length === 1 ? errors[0]!.extensions.code : `ERRORS:${errors.map((e) => e.extensions.code).join(",")}`;
}

const tally = (outcomes: string[]): Record<string, number> =>
  outcomes.reduce<Record<string, number>>((counts, o) => ({ ...counts, [o]: (counts[o] ?? 0) + 1 }), {});

/** A 90 kB "email", different each time (a fresh key per request, if keys came from raw input). */
const hugeEmail = (): string => `${randomUUID()}${"a".repeat(HUGE)}@example.com`;

async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => run(i + j)))));
  return out;
}

/** Hits held for a key: a function of the store under test. */
type HitsOf = (storeKey: string) => Promise<number>;

/**
 * 8 calls for one email from one address, with RATE_LIMIT_REQUEST_PASSWORD_RESET=5/1h and _IP=2/1h:
 * 5 pass the email limit, 2 of those the address limit; the 3 the address refuses give back their
 * email hit. Exactly 2 pass, and the store holds exactly 2 hits on each key (a refused call that gave
 * back another call's hit, or none, leaves 1 or 3 on the email's key).
 */
async function expectExactGiveBack(
  t: TestServer,
  hitsOf: HitsOf,
  send: (email: string, ip: string) => Promise<string[]>,
  expected: Record<string, number> = { OK: 2, RATE_LIMITED: 6 },
) {
  const email = uniqueEmail("race");
  const ip = freshIp();
  expect(tally(await send(email, ip))).toEqual(expected);
  expect(await hitsOf(`requestPasswordReset:${emailKeyPart(email)}`)).toBe(2);
  expect(await hitsOf(`requestPasswordResetIp:${ipKeyPart(ip)}`)).toBe(2);
  // The email's quota is 5: 3 more pass from other addresses, then it is spent.
  const more: string[] = [];
  for (let i = 0; i < 4; i++) more.push(outcome(await t.gql(RESET, { email }, from(freshIp()))));
  expect(more).toEqual(["OK", "OK", "OK", "RATE_LIMITED"]);
}

const parallelHttp = (t: TestServer) => async (email: string, ip: string) =>
  (await Promise.all(Array.from({ length: 8 }, () => t.gql(RESET, { email }, from(ip))))).map(outcome);

/** Mutation aliases run in turn, and the first refusal (a non-null field) ends the operation. */
const aliases = (t: TestServer) => async (email: string, ip: string) => {
  const res = await t.gql<Record<string, boolean>>(RESET_X8, { email }, from(ip));
  expect(res.body.data).toBeNull();
  expect(res.body.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[["c"], "RATE_LIMITED"]]);
  return ["OK", "OK", "RATE_LIMITED"];
};

const RACE_ENV = { RATE_LIMIT_REQUEST_PASSWORD_RESET: "5/1h", RATE_LIMIT_REQUEST_PASSWORD_RESET_IP: "2/1h" };

describe("in-process store", () => {
  const memory: MemoryHitStore = createMemoryHitStore({ maxBytes: 64 * 1024 });
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ rateLimitMemory: memory, env: { RATE_LIMITS: "on", TRUST_PROXY: "true", ...RACE_ENV } });
  });
  afterAll(async () => {
    await t?.close();
  });
  const hitsOf: HitsOf = async (key) => memory.count(key, HOUR_MS);

  it("300 logins with 90 kB emails: BAD_USER_INPUT on email, keys stay short and the store under its byte bound", async () => {
    const results = await inBatches(300, 10, () => t.gql(LOGIN, { input: { email: hugeEmail(), password: "x" } }, from(freshIp())));
    for (const res of results) {
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [expect.objectContaining({ field: "email" })] });
    }
    const keys = memory.keys();
    expect(keys.length).toBeGreaterThan(0);
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThanOrEqual(100);
    // Invalid input shares one marker per address: no key per junk string.
    expect(keys.filter((k) => k.startsWith("login:")).every((k) => k.endsWith("|email=invalid"))).toBe(true);
    expect(memory.size).toBeLessThanOrEqual(memory.maxBytes);
    // 600 keys (two per address) do not fit in 64 kB: the least recently used went.
    expect(keys.length).toBeLessThan(600);
  });

  it("a 254-character email (the longest valid one) is a 22-character digest in its key", async () => {
    const email = `${"b".repeat(64)}.${"c".repeat(177)}@example.com`;
    expect(email).toHaveLength(254);
    const ip = freshIp();
    expect(outcome(await t.gql(LOGIN, { input: { email, password: "wrong password" } }, from(ip)))).toBe("UNAUTHENTICATED");
    const key = `login:${ipKeyPart(ip)}|${emailKeyPart(email)}`;
    expect(memory.keys()).toContain(key);
    expect(emailKeyPart(email)).toMatch(/^email=[A-Za-z0-9_-]{22}$/);
    expect(emailKeyPart(` ${email.toUpperCase()} `)).toBe(emailKeyPart(email));
  });

  it("6 parallel checks on one key (max 5), then 5 give-backs: the store is empty again", async () => {
    const key = `user=${randomUUID()}`;
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => t.deps.rateLimiter.check("changePassword", key)));
    // changePassword is 3 / hour by default.
    const taken = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(taken).toHaveLength(3);
    expect(await hitsOf(`changePassword:${key}`)).toBe(3);
    await Promise.all(taken.map((t) => t.release()));
    expect(await hitsOf(`changePassword:${key}`)).toBe(0);
  });

  it("8 parallel HTTP requests on one email from one address: exactly 2 pass, 2 hits left per key", async () => {
    await expectExactGiveBack(t, hitsOf, parallelHttp(t));
  });

  it("8 aliases in one request: a and b pass, c is refused (ending the operation), 2 hits left per key", async () => {
    await expectExactGiveBack(t, hitsOf, aliases(t), { OK: 2, RATE_LIMITED: 1 });
  });
});

describe.runIf(!!REDIS_URL)("Redis store", () => {
  const prefix = `test:${randomUUID()}:`;
  let t: TestServer;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMITS: "on", TRUST_PROXY: "true", REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix, ...RACE_ENV } });
    redis = new Redis(REDIS_URL!, { lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    await t?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
  const hitsOf: HitsOf = (key) => redis.zcard(`${prefix}rl:${key}`);

  it("200 logins with 90 kB emails: every Redis key stays short", async () => {
    const results = await inBatches(200, 10, () => t.gql(LOGIN, { input: { email: hugeEmail(), password: "x" } }, from(freshIp())));
    expect(tally(results.map(outcome))).toEqual({ BAD_USER_INPUT: 200 });
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBe(400); // login (address + invalid marker) and loginIp, per address
    expect(Math.max(...keys.map((k) => k.length - prefix.length))).toBeLessThanOrEqual(100);
  });

  it("8 parallel HTTP requests on one email from one address: exactly 2 pass, 2 hits left per key", async () => {
    await expectExactGiveBack(t, hitsOf, parallelHttp(t));
  });

  it("8 aliases in one request: a and b pass, c is refused (ending the operation), 2 hits left per key", async () => {
    await expectExactGiveBack(t, hitsOf, aliases(t), { OK: 2, RATE_LIMITED: 1 });
  });

  it("6 parallel checks on one key (max 3), then the give-backs: Redis holds no hit", async () => {
    const key = `user=${randomUUID()}`;
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => t.deps.rateLimiter.check("changePassword", key)));
    const taken = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(taken).toHaveLength(3);
    await Promise.all(taken.map((x) => x.release()));
    expect(await hitsOf(`changePassword:${key}`)).toBe(0);
  });
});
