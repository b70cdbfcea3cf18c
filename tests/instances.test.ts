import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN, REGISTER } from "./support/flows.js";
import { backend, createPostgresDatabase } from "./support/database.js";
import { startFakeResend, resendEnv, type FakeResend } from "./support/fake-resend.js";
import { startServerProcess, type ServerProcess } from "../scripts/server-process.js";
import { STRONG_PASSWORD, TEST_ENCRYPTION_SECRET, TEST_JWT_SECRET, uniqueEmail } from "./support/server.js";

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions: { code: string } }>;
}

async function gql(base: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<Body> {
  const res = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Body;
}

/*
 * Two real server processes on one PostgreSQL and one Redis, as behind a load balancer. They start
 * at the same moment on an empty database (both migrate), share sessions, rate limits and the outbox.
 */
describe.runIf(backend === "postgres" && !!process.env.TEST_REDIS_URL)("two instances", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let fake: FakeResend;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createPostgresDatabase();
    drop = db.drop;
    fake = await startFakeResend();
    const env = {
      NODE_ENV: "production",
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: `test:${randomUUID()}:`,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET,
      RATE_LIMIT_REGISTER: "4/1h",
      ...resendEnv(fake),
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop("SIGKILL"), b?.stop("SIGKILL")]);
    await fake?.close();
    await drop?.();
  });

  /** Waits until the provider has received `n` emails (or fails the test after 10 s). */
  async function waitForDeliveries(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (fake.deliveries.length + fake.duplicates < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} emails, the provider got ${fake.deliveries.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("share sessions, rate limits and the outbox, and both stop cleanly on SIGTERM", async () => {
    // Registered on A: the verification email is sent once, though both instances run a worker.
    const email = uniqueEmail("multi");
    const reg = await gql(a.url, REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Two Instances" } });
    expect(reg.errors).toBeUndefined();
    await waitForDeliveries(1);
    expect(fake.deliveries.map((d) => d.body.to)).toEqual([email]);

    // A session opened on A, used and revoked through B, is refused by A.
    const login = await gql(a.url, LOGIN, { input: { email, password: STRONG_PASSWORD } });
    const tokens = login.data?.["login"] as { accessToken: string; refreshToken: string };
    expect((await gql(b.url, "{ me { email } }", undefined, tokens.accessToken)).data).toEqual({ me: { email } });
    expect((await gql(b.url, `mutation { logout(refreshToken: "${tokens.refreshToken}") }`)).data).toEqual({ logout: true });
    expect((await gql(a.url, "{ me { email } }", undefined, tokens.accessToken)).errors?.[0]?.extensions.code).toBe("UNAUTHENTICATED");

    // One register counter (4/h per address) across both: 1 done on A; B, A, B pass; the 5th is refused.
    const codes: string[] = [];
    for (const base of [b.url, a.url, b.url, a.url]) {
      const r = await gql(base, REGISTER, { input: { email: uniqueEmail("multi"), password: STRONG_PASSWORD, fullName: "Counted" } });
      codes.push(r.errors?.[0]?.extensions.code ?? "OK");
    }
    expect(codes).toEqual(["OK", "OK", "OK", "RATE_LIMITED"]);

    await waitForDeliveries(4);
    const [codeA, codeB] = await Promise.all([a.stop("SIGTERM"), b.stop("SIGTERM")]);
    expect([codeA, codeB]).toEqual([0, 0]);
    expect(a.output()).toMatch(/"msg":"stopped"/);
    // Each of the 4 accepted registrations was sent exactly once in all: every request that reached the
    // provider is counted (a repeated send with the same idempotency key too), and both workers have
    // stopped, so none can come later.
    expect(fake.deliveries).toHaveLength(4);
    expect(fake.duplicates).toBe(0);
    expect(new Set(fake.deliveries.map((d) => d.body.to)).size).toBe(4);
  });
});
