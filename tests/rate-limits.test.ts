import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions, users } from "../src/db/schema.js";
import { auditCount } from "./support/audit.js";
import { configProblems } from "./support/config.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { onlyError, type AuthTokens } from "./support/flows.js";
import {
  CHANGE_PASSWORD,
  MY_SESSIONS,
  REFRESH,
  RESEND,
  RESET,
  RESET_X4,
  THIRD_PASSWORD,
  createAccount,
  expectRateLimited,
  freshIp,
  from,
  login,
  outboxCount,
  outcome,
  register,
  signUp,
  tally,
} from "./support/rate-limits.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/* API.md §4 rate limits over HTTP. Each test uses client addresses of its own (TRUST_PROXY=true: the
 * right-most X-Forwarded-For entry), so no two tests share a counter. One database; counters per server. */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const start = (env: Record<string, string>): Promise<TestServer> =>
  startTestServer({ testDb: db, outboxWorker: false, env: { RATE_LIMITS: "on", ...env } });

describe("default rate limits (TRUST_PROXY=true)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await start({ TRUST_PROXY: "true" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("register: 5 per hour per address; failed calls count; the 6th is refused without creating a user", async () => {
    const ip = freshIp();
    const taken = uniqueEmail("taken");
    const emails = [uniqueEmail("rl"), uniqueEmail("rl"), taken, uniqueEmail("rl"), taken, uniqueEmail("rl")];
    const results: Array<GqlResponse<unknown>> = [];
    for (const email of emails) results.push(await register(t, ip, email));
    expect(results.map(outcome)).toEqual(["OK", "OK", "OK", "OK", "CONFLICT", "RATE_LIMITED"]);
    expectRateLimited(results[5]!, 5, 3600);
    // The refused call never reached the resolver.
    expect(await t.deps.db.select({ id: users.id }).from(users).where(eq(users.email, emails[5]!))).toHaveLength(0);
    // Refused calls do not count, and other addresses have their own counter.
    expect(outcome(await register(t, ip))).toBe("RATE_LIMITED");
    expect(outcome(await register(t, freshIp(), emails[5]!))).toBe("OK");
  });

  it("login: 10 per 15 min per address+email; the 11th is RATE_LIMITED even with the right password", async () => {
    const account = await createAccount(t);
    const other = await createAccount(t);
    const ip = freshIp();
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) codes.push(outcome(await login(t, ip, account.email, OTHER_STRONG_PASSWORD)));
    expect(codes).toEqual(Array<string>(10).fill("UNAUTHENTICATED"));
    const refused = await login(t, ip, account.email, STRONG_PASSWORD);
    const retryAfter = expectRateLimited(refused, 10, 900);
    expect(retryAfter).toBeGreaterThan(900 - 60); // the oldest attempt was seconds ago
    // Not run: 10 failures audited, no session opened.
    expect(await auditCount(t, { action: "user.login_failed", targetId: account.id })).toBe(10);
    expect(await t.deps.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, account.id))).toHaveLength(0);
    // The key is address + email: the same email elsewhere and another email here still work.
    expect(outcome(await login(t, freshIp(), account.email, STRONG_PASSWORD))).toBe("OK");
    expect(outcome(await login(t, ip, other.email, STRONG_PASSWORD))).toBe("OK");
  });

  it("login: a trimmed, upper-case email shares the counter of the normalised one", async () => {
    const account = await createAccount(t);
    const ip = freshIp();
    const spellings = [` ${account.email.toUpperCase()}`, account.email, `${account.email.toUpperCase()} `, account.email];
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) codes.push(outcome(await login(t, ip, spellings[i % 4]!, OTHER_STRONG_PASSWORD)));
    expect(codes).toEqual(Array<string>(10).fill("UNAUTHENTICATED"));
    expectRateLimited(await login(t, ip, account.email, STRONG_PASSWORD), 10, 900);
    expect(outcome(await login(t, ip, ` ${account.email.toUpperCase()}`, STRONG_PASSWORD))).toBe("RATE_LIMITED");
  });

  it("requestPasswordReset: 3 per hour per email, whatever the address; the 4th sends nothing", async () => {
    const account = await createAccount(t);
    const results: Array<GqlResponse<{ requestPasswordReset: boolean }>> = [];
    for (let i = 0; i < 4; i++) results.push(await t.gql(RESET, { email: account.email }, from(freshIp())));
    expect(results.slice(0, 3).map((r) => r.body.data?.requestPasswordReset)).toEqual([true, true, true]);
    expectRateLimited(results[3]!, 3, 3600);
    expect(await outboxCount(t, "reset-password", account.email)).toBe(3);
    expect(await auditCount(t, { action: "user.password_reset_requested", email: account.email })).toBe(3);
  });

  it("requestPasswordReset: 10 per hour per address, over different emails", async () => {
    const ip = freshIp();
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) codes.push(outcome(await t.gql(RESET, { email: uniqueEmail("nobody") }, from(ip))));
    expect(codes).toEqual(Array<string>(10).fill("OK"));
    const email = uniqueEmail("nobody");
    expectRateLimited(await t.gql(RESET, { email }, from(ip)), 10, 3600);
    expect(await auditCount(t, { action: "user.password_reset_requested", email: email })).toBe(0);
    expect(outcome(await t.gql(RESET, { email }, from(freshIp())))).toBe("OK");
  });

  it("a call the per-address limit refuses does not spend the email's quota", async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i++) expect(outcome(await t.gql(RESET, { email: uniqueEmail("nobody") }, from(ip)))).toBe("OK");
    const victim = uniqueEmail("victim");
    const refused: string[] = [];
    for (let i = 0; i < 3; i++) refused.push(outcome(await t.gql(RESET, { email: victim }, from(ip))));
    expect(refused).toEqual(["RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]);
    // Refused calls never ran; the owner of the address can still ask for a reset.
    expect(outcome(await t.gql(RESET, { email: victim }, from(freshIp())))).toBe("OK");
  });

  it("every alias counts: the 4th requestPasswordReset alias for one email is RATE_LIMITED", async () => {
    const email = uniqueEmail("alias");
    const res = await t.gql<Record<string, boolean>>(RESET_X4, { email }, from(freshIp()));
    expect(res.body.errors?.map((e) => e.path)).toEqual([["d"]]);
    const error = onlyError(res);
    expect(error.extensions).toMatchObject({ code: "RATE_LIMITED", limit: 3, window: 3600 });
    expect(await auditCount(t, { action: "user.password_reset_requested", email: email })).toBe(3);
    expect(outcome(await t.gql(RESET, { email }, from(freshIp())))).toBe("RATE_LIMITED");
  });

  it("12 parallel requestPasswordReset for one email: exactly 3 pass (no race)", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(Array.from({ length: 12 }, () => t.gql(RESET, { email }, from(freshIp()))));
    expect(tally(results.map(outcome))).toEqual({ OK: 3, RATE_LIMITED: 9 });
    expect(await auditCount(t, { action: "user.password_reset_requested", email: email })).toBe(3);
  });

  it("changePassword: 3 per hour per user; the refused 4th changes nothing; other users unaffected", async () => {
    const u = await signUp(t);
    const ip = freshIp();
    const change = (token: string, currentPassword: string, newPassword: string) =>
      t.gql<{ changePassword: AuthTokens }>(CHANGE_PASSWORD, { input: { currentPassword, newPassword } }, from(ip, token));
    const first = await change(u.accessToken, STRONG_PASSWORD, OTHER_STRONG_PASSWORD);
    expect(outcome(first)).toBe("OK");
    const token = first.body.data!.changePassword.accessToken;
    expect(outcome(await change(token, "not the password", THIRD_PASSWORD))).toBe("BAD_USER_INPUT");
    expect(outcome(await change(token, "not the password", THIRD_PASSWORD))).toBe("BAD_USER_INPUT");
    expectRateLimited(await change(token, OTHER_STRONG_PASSWORD, THIRD_PASSWORD), 3, 3600);
    expect(outcome(await login(t, freshIp(), u.email, THIRD_PASSWORD))).toBe("UNAUTHENTICATED");
    expect(outcome(await login(t, freshIp(), u.email, OTHER_STRONG_PASSWORD))).toBe("OK");
    const v = await signUp(t);
    expect(outcome(await change(v.accessToken, STRONG_PASSWORD, OTHER_STRONG_PASSWORD))).toBe("OK");
  });

  it("resendVerificationEmail: 3 per hour per user", async () => {
    const u = await signUp(t);
    const ip = freshIp();
    const results: Array<GqlResponse<{ resendVerificationEmail: boolean }>> = [];
    for (let i = 0; i < 4; i++) results.push(await t.gql(RESEND, undefined, from(ip, u.accessToken)));
    expect(results.slice(0, 3).map((r) => r.body.data?.resendVerificationEmail)).toEqual([true, true, true]);
    expectRateLimited(results[3]!, 3, 3600);
    expect(await outboxCount(t, "verify-email", u.email)).toBe(1 + 3); // registration + 3 resends
    const v = await signUp(t);
    expect(outcome(await t.gql(RESEND, undefined, from(ip, v.accessToken)))).toBe("OK");
  });

  it("refreshToken: 30 per minute per address; the refused call does not spend the token", async () => {
    const u = await signUp(t);
    const ip = freshIp();
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) codes.push(outcome(await t.gql(REFRESH, { t: randomBytes(32).toString("base64url") }, from(ip))));
    expect(codes).toEqual(Array<string>(30).fill("UNAUTHENTICATED"));
    expectRateLimited(await t.gql(REFRESH, { t: u.refreshToken }, from(ip)), 30, 60);
    expect(outcome(await t.gql(REFRESH, { t: u.refreshToken }, from(freshIp())))).toBe("OK");
  });
});

describe("client address and X-Forwarded-For", () => {
  let trusted: TestServer;
  let direct: TestServer;
  beforeAll(async () => {
    trusted = await start({ TRUST_PROXY: "true" });
    direct = await start({});
  });
  afterAll(async () => {
    await trusted?.close();
    await direct?.close();
  });

  it("without TRUST_PROXY, a new X-Forwarded-For per request does not reset the register limit", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(outcome(await register(direct, freshIp())));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
  });

  it("with TRUST_PROXY=true, a spoofed left-most entry does not change the counter", async () => {
    const ip = freshIp();
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const spoof = `10.${i}.${randomBytes(1)[0]!}.${randomBytes(1)[0]!}`;
      codes.push(outcome(await register(trusted, `${spoof}, ${ip}`)));
    }
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
    expect(outcome(await register(trusted, ip))).toBe("RATE_LIMITED");
  });

  it("mySessions shows the right-most forwarded address with TRUST_PROXY=true", async () => {
    const account = await createAccount(trusted);
    const ip = freshIp();
    const res = await login(trusted, `10.9.8.7, ${ip}`, account.email, STRONG_PASSWORD);
    const list = await trusted.gql<{ mySessions: Array<{ ip: string | null; current: boolean }> }>(MY_SESSIONS, undefined, {
      token: res.body.data!.login.accessToken,
    });
    expect(list.body.data?.mySessions).toEqual([{ ip, current: true }]);
  });

  it("mySessions shows the socket address (127.0.0.1) without TRUST_PROXY", async () => {
    const account = await createAccount(trusted); // shared database; keeps direct's register counter untouched
    const res = await login(direct, freshIp(), account.email, STRONG_PASSWORD);
    const list = await direct.gql<{ mySessions: Array<{ ip: string | null; current: boolean }> }>(MY_SESSIONS, undefined, {
      token: res.body.data!.login.accessToken,
    });
    expect(list.body.data?.mySessions).toEqual([{ ip: "127.0.0.1", current: true }]);
  });
});

describe("login per account across addresses (RATE_LIMIT_LOGIN_ACCOUNT=5/1h)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await start({ TRUST_PROXY: "true", RATE_LIMIT_LOGIN_ACCOUNT: "5/1h" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the 6th attempt on one email is refused although each address tried once", async () => {
    const account = await createAccount(t);
    const results: Array<GqlResponse<unknown>> = [];
    for (let i = 0; i < 6; i++) results.push(await login(t, freshIp(), account.email, OTHER_STRONG_PASSWORD));
    expect(results.map(outcome)).toEqual([...Array<string>(5).fill("UNAUTHENTICATED"), "RATE_LIMITED"]);
    expectRateLimited(results[5]!, 5, 3600);
    expect(outcome(await login(t, freshIp(), account.email, STRONG_PASSWORD))).toBe("RATE_LIMITED");
    expect(await auditCount(t, { action: "user.login_failed", targetId: account.id })).toBe(5);
  });

  it("10 parallel wrong passwords from 10 addresses: exactly 5 UNAUTHENTICATED and 5 RATE_LIMITED", async () => {
    const account = await createAccount(t);
    const results = await Promise.all(Array.from({ length: 10 }, () => login(t, freshIp(), account.email, OTHER_STRONG_PASSWORD)));
    expect(tally(results.map(outcome))).toEqual({ UNAUTHENTICATED: 5, RATE_LIMITED: 5 });
    expect(await auditCount(t, { action: "user.login_failed", targetId: account.id })).toBe(5);
  });
});

describe("RATE_LIMIT_<NAME> overrides and RATE_LIMITS=off", () => {
  let t: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    t = await start({ TRUST_PROXY: "true", RATE_LIMIT_LOGIN: "2/1m" });
    off = await start({ TRUST_PROXY: "true", RATE_LIMITS: "off" });
  });
  afterAll(async () => {
    await t?.close();
    await off?.close();
  });

  it("RATE_LIMIT_LOGIN=2/1m: the 3rd attempt is refused with window 60", async () => {
    const account = await createAccount(t);
    const ip = freshIp();
    const results: Array<GqlResponse<unknown>> = [];
    for (let i = 0; i < 3; i++) results.push(await login(t, ip, account.email, OTHER_STRONG_PASSWORD));
    expect(results.map(outcome)).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]);
    expectRateLimited(results[2]!, 2, 60);
  });

  it.each(["abc", "0/1m", "2.5/1m", "5/1000", "5/", "/1m", "5/1x", "-1/1m", "5/0s"])(
    "RATE_LIMIT_LOGIN=%j stops loadConfig with a ConfigError naming the variable",
    (value: string) => {
      expect(configProblems({ NODE_ENV: "test", RATE_LIMIT_LOGIN: value })).toEqual([expect.stringMatching(/^RATE_LIMIT_LOGIN: /)]);
      expect(configProblems({ NODE_ENV: "test", RATE_LIMIT_LOGIN_ACCOUNT: value })).toEqual([
        expect.stringMatching(/^RATE_LIMIT_LOGIN_ACCOUNT: /),
      ]);
    },
  );

  it("RATE_LIMITS=off: 8 registers and 12 wrong logins from one address all reach the resolver", async () => {
    const ip = freshIp();
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push(outcome(await register(off, ip)));
    expect(codes).toEqual(Array<string>(8).fill("OK"));
    const account = await createAccount(off);
    const logins: string[] = [];
    for (let i = 0; i < 12; i++) logins.push(outcome(await login(off, ip, account.email, OTHER_STRONG_PASSWORD)));
    expect(logins).toEqual(Array<string>(12).fill("UNAUTHENTICATED"));
  });
});
