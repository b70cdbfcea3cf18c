/*
 * Mail over SMTP (API.md §6): a real SMTP server (smtp-server) on 127.0.0.1 with AUTH, the outbox worker
 * of a real app sending to it. 4xx is retried, 5xx gives the row up, and every attempt at one row carries
 * the same Message-ID.
 */
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { SMTPServer, type SMTPServerAuthenticationResponse } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { configProblems } from "./support/config.js";
import { emailOutbox } from "../src/db/schema.js";
import { createSmtpTransport } from "../src/email/transport.js";
import { REGISTER } from "./support/flows.js";
import { captureLogs } from "./support/logs.js";
import { startTestServer, STRONG_PASSWORD, TEST_JWT_SECRET, uniqueEmail, type TestServer } from "./support/server.js";

const USER = "mailer";
// Characters a URL must escape: the transport has to decode them, and no log may show them.
const PASSWORD = "s3cret p@ss:w/rd%";
const FROM = "Gatehouse <no-reply@gatehouse.test>";

interface Received {
  to: string[];
  user: string | undefined;
  messageId: string | undefined;
  raw: string;
  reply: number;
}

interface FakeSmtp {
  port: number;
  received: Received[];
  /** Replies to DATA for one recipient, in order; once used up (or for anyone else), 250. */
  plan: Map<string, number[]>;
  close(): Promise<void>;
}

async function startSmtp(): Promise<FakeSmtp> {
  const received: Received[] = [];
  const plan = new Map<string, number[]>();
  const server = new SMTPServer({
    // Plain text on loopback: no certificate to trust in the test.
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void) {
      if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: USER });
      callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      stream.on("end", () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const reply = plan.get(to[0] ?? "")?.shift() ?? 250;
        const messageId = /^Message-ID:\s*(\S+)/im.exec(raw)?.[1];
        received.push({ to, user: typeof session.user === "string" ? session.user : undefined, messageId, raw, reply });
        if (reply === 250) return callback();
        const text = reply < 500 ? "Greylisted, try again later" : "Mailbox unavailable";
        callback(Object.assign(new Error(text), { responseCode: reply }));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    plan,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const smtpUrl = (port: number, password = PASSWORD) => `smtp://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;

describe("SMTP transport through the outbox", () => {
  let smtp: FakeSmtp;
  let t: TestServer;
  const logs = captureLogs("debug");

  beforeAll(async () => {
    smtp = await startSmtp();
    // No mailTransport override: the app uses the one SMTP_URL selects.
    t = await startTestServer({ env: { SMTP_URL: smtpUrl(smtp.port), EMAIL_FROM: FROM }, logger: logs.logger });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const register = async (email: string) => {
    const res = await t.gql<{ register: { id: string } }>(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Mail Test" } });
    expect(res.body.errors).toBeUndefined();
  };
  const outboxRow = async (email: string) => (await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, email)))[0];

  it("selects SMTP from SMTP_URL and delivers with AUTH, the outbox id as Message-ID", async () => {
    expect(t.config.mail.transport).toBe("smtp");
    const email = uniqueEmail("smtp");
    await register(email);
    const row = await waitFor("the row to be sent", async () => {
      const r = await outboxRow(email);
      return r?.status === "SENT" ? r : undefined;
    });
    const got = smtp.received.filter((m) => m.to.includes(email));
    expect(got).toHaveLength(1);
    expect(got[0]!.user).toBe(USER);
    expect(got[0]!.messageId).toBe(`<${row.id}@gatehouse.test>`);
    expect(row.providerMessageId).toBe(`<${row.id}@gatehouse.test>`);
    expect(got[0]!.raw).toMatch(/^From: Gatehouse <no-reply@gatehouse\.test>/im);
    expect(got[0]!.raw).toMatch(/^Subject: .+/im);
    expect(row.attempts).toBe(1);
  });

  it("retries a 451 through the worker and delivers the same Message-ID on the next attempt", async () => {
    const email = uniqueEmail("greylisted");
    smtp.plan.set(email, [451]);
    await register(email);
    const failedOnce = await waitFor("the first refusal", async () => {
      const r = await outboxRow(email);
      return r?.lastError ? r : undefined;
    });
    expect(failedOnce.status).toBe("PENDING");
    expect(failedOnce.lastError).toMatch(/^smtp 451: /);
    // The first retry is due about 5 s later (outbox.ts: 5 s ± 20%).
    const row = await waitFor("the retry to be sent", async () => {
      const r = await outboxRow(email);
      return r?.status === "SENT" ? r : undefined;
    });
    expect(row.attempts).toBe(2);
    const got = smtp.received.filter((m) => m.to.includes(email));
    expect(got.map((m) => m.reply)).toEqual([451, 250]);
    expect(new Set(got.map((m) => m.messageId))).toEqual(new Set([`<${row.id}@gatehouse.test>`]));
  });

  it("gives the row up as FAILED on a 550, without retrying", async () => {
    const email = uniqueEmail("refused");
    smtp.plan.set(email, [550, 550]);
    await register(email);
    const row = await waitFor("the row to be given up", async () => {
      const r = await outboxRow(email);
      return r?.status === "FAILED" ? r : undefined;
    });
    expect(row.attempts).toBe(1);
    expect(row.lastError).toMatch(/^smtp 550: /);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it("never logs the password in SMTP_URL", () => {
    const all = logs.lines.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(encodeURIComponent(PASSWORD));
  });
});

describe("SMTP transport errors", () => {
  let smtp: FakeSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => smtp?.close());
  const message = { id: "00000000-0000-4000-8000-000000000001", to: "a@example.com", subject: "s", text: "t", html: "<p>t</p>" };
  const mail = (url: string) => ({ transport: "smtp" as const, resendApiKey: undefined, from: FROM, resendBaseUrl: undefined, smtpUrl: url });

  it("a refused login is final, and its error names the reply, not the password", async () => {
    const result = await createSmtpTransport(mail(smtpUrl(smtp.port, "wrong password"))).send(message);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toMatch(/^smtp 535: /);
    expect(!result.ok && result.error).not.toContain("wrong password");
  });

  it("a server that is not there is retryable", async () => {
    const closed = await startSmtp();
    const port = closed.port;
    await closed.close();
    const result = await createSmtpTransport(mail(smtpUrl(port))).send(message);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).not.toContain(PASSWORD);
  });
});

describe("SMTP configuration", () => {
  const base = { JWT_SECRET: TEST_JWT_SECRET };

  it("SMTP_URL alone selects smtp; Resend settings or MAIL_TRANSPORT win", () => {
    expect(loadConfig({ ...base, SMTP_URL: "smtp://u:p@mail.example.com:587", EMAIL_FROM: FROM }).mail.transport).toBe("smtp");
    expect(loadConfig({ ...base, SMTP_URL: "smtps://u:p@mail.example.com", EMAIL_FROM: FROM, RESEND_API_KEY: "re_x" }).mail.transport).toBe("resend");
    expect(loadConfig({ ...base, SMTP_URL: "smtp://u:p@mail.example.com", MAIL_TRANSPORT: "log" }).mail.transport).toBe("log");
  });

  it("MAIL_TRANSPORT=smtp needs SMTP_URL and EMAIL_FROM", () => {
    expect(configProblems({ ...base, MAIL_TRANSPORT: "smtp", EMAIL_FROM: FROM })).toEqual([
      "SMTP_URL and EMAIL_FROM are both required to send email over SMTP",
    ]);
    expect(configProblems({ ...base, SMTP_URL: "smtp://u:p@mail.example.com" })).toEqual(["SMTP_URL and EMAIL_FROM are both required to send email over SMTP"]);
  });

  it("production accepts SMTP as its configured transport", () => {
    const prod = loadConfig({ NODE_ENV: "production", JWT_SECRET: "x9$Lq2!vR7#mT4@pZ8&nK1*wF6^hB3%c", ENCRYPTION_SECRET: "K7#pQ2$wZ9!mV4@xR8&nT1*bF6^hL3%d", SMTP_URL: "smtps://u:p@mail.example.com", EMAIL_FROM: FROM });
    expect(prod.mail.transport).toBe("smtp");
  });

  it("a bad SMTP_URL is named without echoing its password", () => {
    const found = configProblems({ ...base, SMTP_URL: "http://u:hunter2-secret@mail.example.com" });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^SMTP_URL: must be a URL starting with smtp:\/\/ or smtps:\/\//);
    expect(found[0]).not.toContain("hunter2");
  });
});
