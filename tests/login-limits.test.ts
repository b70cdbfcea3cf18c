import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { sessions } from "../src/db/schema.js";
import { limitEnvName } from "../src/limits.js";
import { LOGIN, REGISTER, onlyError } from "./support/flows.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * API.md §5 login limits over HTTP (TRUST_PROXY=true, addresses from X-Forwarded-For): 100 attempts per
 * address across all emails; the per-account limit (30 / hour) counts only attempts that reached a
 * password check and spares the addresses the account logged in from in the last 30 days.
 */

let addresses = 0;
/** A client address no other test uses. */
const freshIp = (): string => `192.0.${Math.floor(addresses / 250)}.${(addresses++ % 250) + 1}`;
const from = (ip: string) => ({ headers: { "x-forwarded-for": ip } });

function outcome(res: GqlResponse<unknown>): string {
  const errors = res.body.errors ?? [];
  if (errors.length === 0) return res.body.data ? "OK" : "NO_DATA";
  return errors.length === 1 ? errors[0]!.extensions.code : `ERRORS:${errors.map((e) => e.extensions.code).join(",")}`;
}

const times = (n: number, code: string): string[] => Array<string>(n).fill(code);

/** gatehouse_rate_limited_total{limit="loginAccount"} so far. */
async function accountRefusals(): Promise<number> {
  const metric = await t.deps.metrics.rateLimited.get();
  return metric.values.find((v) => v.labels.limit === "loginAccount")?.value ?? 0;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ outboxWorker: false, env: { RATE_LIMITS: "on", TRUST_PROXY: "true" } });
});
afterAll(async () => {
  await t?.close();
});

const login = (ip: string, email: string, password: string) => t.gql(LOGIN, { input: { email, password } }, from(ip));
const attempt = async (ip: string, email: string, password: string): Promise<string> => outcome(await login(ip, email, password));

async function createAccount(): Promise<string> {
  const email = uniqueEmail("ll");
  const res = await t.gql<{ register: { id: string } }>(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Login Limits" } }, from(freshIp()));
  if (!res.body.data?.register) throw new Error(`register failed: ${JSON.stringify(res.body.errors)}`);
  return email;
}

describe("login per client address across all emails (loginIp)", () => {
  it("RATE_LIMIT_LOGIN_IP is the variable of loginIp; the default is 100 / 15 min", () => {
    expect(limitEnvName("loginIp")).toBe("RATE_LIMIT_LOGIN_IP");
    expect(loadConfig({ NODE_ENV: "test" }).limits.loginIp).toEqual({ max: 100, window: "15m", windowMs: 900_000 });
    expect(loadConfig({ NODE_ENV: "test", RATE_LIMIT_LOGIN_IP: "7/1m" }).limits.loginIp).toEqual({ max: 7, window: "1m", windowMs: 60_000 });
  });

  it("100 attempts over 100 emails pass (invalid ones count too); the 101st is RATE_LIMITED, another address is not", async () => {
    const ip = freshIp();
    const codes: string[] = [];
    // Malformed emails count against the address, so junk cannot be used to spray for free.
    for (let i = 0; i < 5; i++) codes.push(await attempt(ip, `not-an-email-${i}`, "whatever"));
    for (let i = 0; i < 95; i++) codes.push(await attempt(ip, uniqueEmail("spray"), "whatever password"));
    expect(codes).toEqual([...times(5, "BAD_USER_INPUT"), ...times(95, "UNAUTHENTICATED")]);
    const account = await createAccount();
    const refused = onlyError(await login(ip, account, STRONG_PASSWORD));
    expect(refused.extensions).toMatchObject({ code: "RATE_LIMITED", limit: 100, window: 900 });
    expect(await attempt(freshIp(), account, STRONG_PASSWORD)).toBe("OK");
  });
});

describe("login per account (loginAccount, 30 / hour)", () => {
  it("30 empty passwords from 30 addresses do not lock the owner out", async () => {
    const email = await createAccount();
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) codes.push(await attempt(freshIp(), email, ""));
    expect(codes).toEqual(times(30, "BAD_USER_INPUT"));
    // Malformed spellings of the address never count against the account either.
    for (let i = 0; i < 5; i++) expect(await attempt(freshIp(), `${email}@@`, "a wrong password")).toBe("BAD_USER_INPUT");
    expect(await attempt(freshIp(), email, STRONG_PASSWORD)).toBe("OK");
  });

  it("wrong passwords from 30 addresses hit the account limit; the owner's known address still logs in, an unknown one does not", async () => {
    const email = await createAccount();
    const home = freshIp();
    expect(await attempt(home, email, STRONG_PASSWORD)).toBe("OK"); // 1 of 30
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) codes.push(await attempt(freshIp(), email, OTHER_STRONG_PASSWORD));
    expect(codes).toEqual([...times(29, "UNAUTHENTICATED"), "RATE_LIMITED"]);
    const refused = onlyError(await login(freshIp(), email, STRONG_PASSWORD));
    expect(refused.extensions).toMatchObject({ code: "RATE_LIMITED", limit: 30, window: 3600 });
    // From home: not subject to the account limit, but its own address + email limit (10 / 15 min) holds.
    const refusals = await accountRefusals();
    const fromHome: string[] = [await attempt(home, email, STRONG_PASSWORD)];
    for (let i = 0; i < 8; i++) fromHome.push(await attempt(home, email, OTHER_STRONG_PASSWORD));
    fromHome.push(await attempt(home, email, STRONG_PASSWORD));
    expect(fromHome).toEqual(["OK", ...times(8, "UNAUTHENTICATED"), "RATE_LIMITED"]);
    // Let through from home: not reported as refused by the account limit.
    expect(await accountRefusals()).toBe(refusals);
    expect(await attempt(freshIp(), email, STRONG_PASSWORD)).toBe("RATE_LIMITED");
    expect(await accountRefusals()).toBe(refusals + 1);
  });

  it("IPv6: an address in the /64 of a past login is known; another /64 is not", async () => {
    const email = await createAccount();
    expect(await attempt("2001:db8:77:1::10", email, STRONG_PASSWORD)).toBe("OK");
    for (let i = 0; i < 29; i++) expect(await attempt(freshIp(), email, OTHER_STRONG_PASSWORD)).toBe("UNAUTHENTICATED");
    expect(await attempt("2001:db8:77:1:abcd::99", email, STRONG_PASSWORD)).toBe("OK");
    expect(await attempt("2001:db8:77:2::10", email, STRONG_PASSWORD)).toBe("RATE_LIMITED");
  });

  it("a login more than 30 days ago no longer makes its address known", async () => {
    const email = await createAccount();
    const old = freshIp();
    expect(await attempt(old, email, STRONG_PASSWORD)).toBe("OK");
    await t.deps.db
      .update(sessions)
      .set({ createdAt: sql`now() - interval '31 days'` })
      .where(eq(sessions.ip, old));
    for (let i = 0; i < 29; i++) expect(await attempt(freshIp(), email, OTHER_STRONG_PASSWORD)).toBe("UNAUTHENTICATED");
    expect(await attempt(old, email, STRONG_PASSWORD)).toBe("RATE_LIMITED");
  });

  it("an unknown email is limited like a known one (no way to tell them apart)", async () => {
    const email = uniqueEmail("ghost");
    const codes: string[] = [];
    for (let i = 0; i < 31; i++) codes.push(await attempt(freshIp(), email, OTHER_STRONG_PASSWORD));
    expect(codes).toEqual([...times(30, "UNAUTHENTICATED"), "RATE_LIMITED"]);
  });
});
