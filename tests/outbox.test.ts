import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { emailOutbox } from "../src/db/schema.js";
import { createOutboxWorker, enqueueEmail, retryDelaySeconds } from "../src/email/outbox.js";
import { createResendTransport } from "../src/email/transport.js";
import { REGISTER } from "./support/flows.js";
import { startFakeResend, resendEnv, type FakeResend } from "./support/fake-resend.js";
import { captureLogs } from "./support/logs.js";
import { STRONG_PASSWORD, TEST_JWT_SECRET, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let fake: FakeResend;
let t: TestServer;
const { logger, lines } = captureLogs();

beforeAll(async () => {
  fake = await startFakeResend();
  // The worker is driven by hand (runOnce) so that each step is deterministic.
  t = await startTestServer({ env: resendEnv(fake), outboxWorker: false, logger });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});
beforeEach(async () => {
  await t.reset();
  fake.mode = "up";
  fake.delayMs = 0;
  fake.deliveries.length = 0;
  fake.requests = 0;
  fake.duplicates = 0;
});

const register = (email = uniqueEmail("mail")) =>
  t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Mail Reader" } }).then(() => email);

const rows = () => t.deps.db.select().from(emailOutbox);
const makeDue = () => t.deps.db.update(emailOutbox).set({ nextAttemptAt: sql`now()` });

describe("outbox delivery through Resend", () => {
  it("sends each email once, with the outbox id as the idempotency key, and clears the body", async () => {
    const email = await register();
    expect(await t.deps.outbox.runOnce()).toBe(1);
    expect(fake.deliveries).toHaveLength(1);
    const [row] = await rows();
    const delivery = fake.deliveries[0]!;
    expect(delivery.idempotencyKey).toBe(row!.id);
    expect(delivery.body).toMatchObject({ from: "Gatehouse <no-reply@example.com>", to: email, subject: "Confirm your email for Gatehouse" });
    expect(delivery.body.text).toMatch(/http:\/\/localhost:3000\/verify-email\?token=/);
    expect(row).toMatchObject({ status: "SENT", attempts: 1, textBody: null, htmlBody: null, providerMessageId: delivery.id });
    expect(await t.deps.outbox.runOnce()).toBe(0);
  });

  it("delays but does not lose mail while the provider is down, retrying within 10 s and then backing off", async () => {
    await register();
    fake.mode = "down";
    await t.deps.outbox.runOnce();
    const [first] = await rows();
    expect(first).toMatchObject({ status: "PENDING", attempts: 1, lockedUntil: null });
    expect(first!.lastError).toMatch(/503/);
    const wait = (first!.nextAttemptAt.getTime() - Date.now()) / 1000;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(10);
    expect(first!.textBody).not.toBeNull();

    fake.mode = "network";
    await makeDue();
    await t.deps.outbox.runOnce();
    const [second] = await rows();
    expect(second).toMatchObject({ status: "PENDING", attempts: 2 });
    expect(second!.lastError).toMatch(/network/);

    fake.mode = "up";
    await makeDue();
    await t.deps.outbox.runOnce();
    expect(fake.deliveries).toHaveLength(1);
    expect((await rows())[0]).toMatchObject({ status: "SENT", attempts: 3 });
  });

  it("backs off exponentially up to 10 minutes", () => {
    const samples = (n: number) => Array.from({ length: 50 }, () => retryDelaySeconds(n));
    expect(Math.max(...samples(1))).toBeLessThanOrEqual(6);
    expect(Math.min(...samples(3))).toBeGreaterThanOrEqual(16);
    expect(Math.max(...samples(30))).toBeLessThanOrEqual(720);
    expect(Math.min(...samples(30))).toBeGreaterThanOrEqual(480);
  });

  it("never delivers twice when a send reached Resend but was not marked (crash between send and mark)", async () => {
    await register();
    const [row] = await rows();
    // What a process that died right after sending would have done: the provider has it, the row is still PENDING.
    const transport = createResendTransport(t.config.mail);
    const message = { id: row!.id, to: row!.toAddress, subject: row!.subject, text: row!.textBody!, html: row!.htmlBody! };
    expect(await transport.send(message)).toMatchObject({ ok: true });
    await t.deps.outbox.runOnce();
    expect(fake.deliveries).toHaveLength(1);
    expect(fake.duplicates).toBe(1);
    expect((await rows())[0]!.status).toBe("SENT");
  });

  it("gives up at once on a refusal that retrying cannot fix, and logs it", async () => {
    await register();
    fake.mode = "reject";
    await t.deps.outbox.runOnce();
    const [row] = await rows();
    expect(row).toMatchObject({ status: "FAILED", attempts: 1, textBody: null, htmlBody: null });
    expect(row!.lastError).toMatch(/422.*validation_error/);
    expect(lines.some((l) => l.includes(row!.id) && l.includes("email given up"))).toBe(true);
  });

  it("marks a row failed once it is 24 hours old", async () => {
    await register();
    await t.deps.db.update(emailOutbox).set({ createdAt: sql`now() - interval '25 hours'` });
    fake.mode = "down";
    await t.deps.outbox.runOnce();
    expect((await rows())[0]).toMatchObject({ status: "FAILED", attempts: 1 });
  });

  it("loses nothing when the app restarts in the middle of an outage", async () => {
    fake.mode = "down";
    const first = await startTestServer({ env: resendEnv(fake), testDb: t.testDb, logger });
    const email = uniqueEmail("restart");
    await first.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Restart" } });
    await fake.nextRequest();
    await first.close(); // stops its worker after the failed attempt
    expect(fake.deliveries).toHaveLength(0);
    const [pending] = await rows();
    expect(pending!.status).toBe("PENDING");

    fake.mode = "up";
    await makeDue();
    const second = await startTestServer({ env: resendEnv(fake), testDb: t.testDb, logger });
    try {
      for (let i = 0; i < 200 && fake.deliveries.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(fake.deliveries.map((d) => d.body.to)).toEqual([email]);
    } finally {
      await second.close();
    }
    expect((await rows())[0]!.status).toBe("SENT");
  });

  it("stops gracefully after the send in progress", async () => {
    fake.delayMs = 300;
    const worker = createOutboxWorker({ db: t.deps.db, logger, config: t.config }, createResendTransport(t.config.mail), { pollIntervalMs: 25 });
    await register();
    worker.start();
    await fake.nextRequest();
    await worker.stop();
    expect(fake.deliveries).toHaveLength(1);
    expect((await rows())[0]).toMatchObject({ status: "SENT", lockedUntil: null });
  });

  it("sends every email exactly once with two workers on separate connections", async () => {
    const n = 30;
    await t.deps.db.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        await enqueueEmail(tx, t.config, { template: "test", to: `bulk${i}@example.com`, subject: `#${i}`, text: "t", html: "<p>h</p>" });
      }
    });
    // On PostgreSQL the second worker has its own pool, as a second instance would.
    const other: Database | undefined = t.testDb.url ? await openDatabase({ url: t.testDb.url, max: 2 }) : undefined;
    try {
      const transport = createResendTransport(t.config.mail);
      const workers = [t.deps.db, other?.db ?? t.deps.db].map((db) => createOutboxWorker({ db, logger, config: t.config }, transport));
      const drain = async (w: (typeof workers)[number]) => {
        while ((await w.runOnce()) > 0);
      };
      await Promise.all(workers.map(drain));
    } finally {
      await other?.close();
    }
    expect(fake.requests).toBe(n);
    expect(fake.duplicates).toBe(0);
    expect(new Set(fake.deliveries.map((d) => d.body.to)).size).toBe(n);
    const statuses = await t.deps.db.select({ status: emailOutbox.status }).from(emailOutbox).where(eq(emailOutbox.status, "SENT"));
    expect(statuses).toHaveLength(n);
  });
});

describe("outbox bodies at rest", () => {
  const VERIFY = "mutation ($token: String!) { verifyEmail(token: $token) { email emailVerified } }";
  const sealedShape = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/;

  it("holds no live link in clear text during a provider outage, and delivers the right link after it", async () => {
    const email = await register();
    fake.mode = "down";
    await t.deps.outbox.runOnce();
    const [pending] = await rows();
    expect(pending).toMatchObject({ status: "PENDING", attempts: 1 });
    for (const body of [pending!.textBody!, pending!.htmlBody!]) {
      expect(body).toMatch(sealedShape);
      for (const clear of ["token=", "verify-email", "localhost:3000", "Hello", "Mail Reader", "<p>"]) {
        expect(body).not.toContain(clear);
        expect(Buffer.from(body.split(".")[2]!, "base64url").toString("latin1")).not.toContain(clear);
      }
    }

    fake.mode = "up";
    await makeDue();
    await t.deps.outbox.runOnce();
    const delivered = fake.deliveries[0]!.body;
    expect(delivered.to).toBe(email);
    const token = /\/verify-email\?token=([A-Za-z0-9_%-]+)/.exec(delivered.text)?.[1];
    expect(token).toBeDefined();
    expect(delivered.html).toContain(`http://localhost:3000/verify-email?token=${token}`);
    for (const body of [pending!.textBody!, pending!.htmlBody!]) expect(body).not.toContain(token);
    expect((await t.gql(VERIFY, { token: decodeURIComponent(token!) })).body.data).toEqual({ verifyEmail: { email, emailVerified: true } });
    expect((await rows())[0]).toMatchObject({ status: "SENT", textBody: null, htmlBody: null });
  });

  it("gives up a row whose ciphertext was altered (authentication fails), logs it without secrets, and sends the rest", async () => {
    const altered = await register();
    const intact = await register();
    const [row] = await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, altered));
    const [version, iv, body] = row!.textBody!.split(".") as [string, string, string];
    const bytes = Buffer.from(body, "base64url");
    bytes[0]! ^= 0x01;
    await t.deps.db.update(emailOutbox).set({ textBody: `${version}.${iv}.${bytes.toString("base64url")}` }).where(eq(emailOutbox.id, row!.id));
    lines.length = 0;

    expect(await t.deps.outbox.runOnce()).toBe(2);
    expect(fake.deliveries.map((d) => d.body.to)).toEqual([intact]);
    const [failed] = await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, row!.id));
    expect(failed).toMatchObject({ status: "FAILED", attempts: 1, lastError: "body cannot be decrypted", textBody: null, htmlBody: null });
    const line = lines.find((l) => l.includes(row!.id));
    expect(line).toMatch(/email given up: its body cannot be decrypted/);
    for (const secret of [TEST_JWT_SECRET, t.config.encryptionSecret, iv, body]) expect(line).not.toContain(secret);
  });

  it("gives up, and does not crash on, rows sealed under another secret (ENCRYPTION_SECRET changed)", async () => {
    await register();
    await register();
    const logs = captureLogs();
    const other = createOutboxWorker(
      { db: t.deps.db, logger: logs.logger, config: { encryptionSecret: "a-different-encryption-secret-32-bytes-long" } },
      createResendTransport(t.config.mail),
    );
    expect(await other.runOnce()).toBe(2);
    expect(fake.deliveries).toHaveLength(0);
    expect((await rows()).map((r) => r.status)).toEqual(["FAILED", "FAILED"]);
    expect(logs.lines.filter((l) => l.includes("cannot be decrypted"))).toHaveLength(2);
  });

  it("uses ENCRYPTION_SECRET when set: another instance with the same secret opens what this one sealed", async () => {
    const secret = "shared-encryption-secret-for-two-instances!";
    const first = await startTestServer({ env: { ...resendEnv(fake), ENCRYPTION_SECRET: secret }, testDb: t.testDb, outboxWorker: false, logger });
    try {
      const email = uniqueEmail("shared");
      await first.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Shared" } });
      expect(first.config.encryptionSecret).toBe(secret);
      // This file's server has no ENCRYPTION_SECRET: its secret is derived from JWT_SECRET, and differs.
      expect(t.config.encryptionSecret).not.toBe(secret);
      expect(t.config.encryptionSecret).not.toBe(TEST_JWT_SECRET);
      const second = createOutboxWorker({ db: t.deps.db, logger, config: { encryptionSecret: secret } }, createResendTransport(t.config.mail));
      expect(await second.runOnce()).toBe(1);
      expect(fake.deliveries.map((d) => d.body.to)).toEqual([email]);
    } finally {
      await first.close();
    }
  });

  it("sends a row written before bodies were sealed as it is", async () => {
    await t.deps.db
      .insert(emailOutbox)
      .values({ template: "legacy", toAddress: "legacy@example.com", subject: "Old", textBody: "plain", htmlBody: "<p>plain</p>" });
    await t.deps.outbox.runOnce();
    expect(fake.deliveries.map((d) => [d.body.text, d.body.html])).toEqual([["plain", "<p>plain</p>"]]);
  });
});
