import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIpAddress, rateLimitAddress } from "../src/lib/ip.js";
import { auditRows } from "./support/audit.js";
import { LOGIN, REGISTER, type AuthTokens } from "./support/flows.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * API.md §5 client address, over HTTP with TRUST_PROXY=true and crafted X-Forwarded-For: only an IP
 * address is taken (a port is stripped), anything else is the socket address (127.0.0.1 here); for rate
 * limits an IPv6 address counts as its /64, while sessions and the audit log keep the full address.
 */

let registrations = 0;
const MY_SESSIONS = /* GraphQL */ `query Sessions { mySessions { ip } }`;

function outcome(res: GqlResponse<unknown>): string {
  const errors = res.body.errors ?? [];
  if (errors.length === 0) return res.body.data ? "OK" : "NO_DATA";
  return errors.length === 1 ? errors[0]!.extensions.code : `ERRORS:${errors.map((e) => e.extensions.code).join(",")}`;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ outboxWorker: false, env: { RATE_LIMITS: "on", TRUST_PROXY: "true", RATE_LIMIT_LOGIN: "100/15m" } });
});
afterAll(async () => {
  await t?.close();
});

const register = (forwarded: string, email = uniqueEmail("addr")) =>
  t.gql<{ register: { id: string } }>(
    REGISTER,
    { input: { email, password: STRONG_PASSWORD, fullName: "Address" } },
    { headers: { "x-forwarded-for": forwarded } },
  );

/** Registers from a throwaway address, logs in with `forwarded`; the session's and the audit's address. */
async function recordedAddress(forwarded: string): Promise<{ session: string | null; audit: string | null }> {
  const email = uniqueEmail("addr");
  const reg = await register(`198.18.0.${++registrations}`, email);
  const res = await t.gql<{ login: AuthTokens }>(LOGIN, { input: { email, password: STRONG_PASSWORD } }, { headers: { "x-forwarded-for": forwarded } });
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  const list = await t.gql<{ mySessions: Array<{ ip: string | null }> }>(MY_SESSIONS, undefined, { token: res.body.data.login.accessToken });
  const audit = (await auditRows(t, { action: "user.login", targetId: reg.body.data!.register.id })).at(-1);
  return { session: list.body.data!.mySessions[0]!.ip, audit: audit?.ip ?? null };
}

describe("X-Forwarded-For with TRUST_PROXY=true", () => {
  it.each([
    ["203.0.113.5:1234", "203.0.113.5"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:db8::2]", "2001:db8::2"],
    ["2001:DB8:0:0:0:0:0:3", "2001:db8::3"],
    ["::ffff:203.0.113.9", "203.0.113.9"],
    ["10.1.1.1, 203.0.113.6:80", "203.0.113.6"],
  ])("%j is recorded as %j in the session and the audit log", async (forwarded, expected) => {
    expect(await recordedAddress(forwarded)).toEqual({ session: expected, audit: expected });
  });

  it.each([
    ["junk", "not an address"],
    ["a hostname", "proxy.example.com"],
    ["an overlong string", "1".repeat(300)],
    ["an address with junk after it", "203.0.113.7 evil"],
    ["a bracketed IPv4", "[203.0.113.8]:80"],
    ["a number", "3405803783"],
  ])("%s falls back to the socket address", async (_what, forwarded) => {
    expect(await recordedAddress(forwarded)).toEqual({ session: "127.0.0.1", audit: "127.0.0.1" });
  });

  it("a port does not make a new counter: 5 registers with 5 ports, the 6th from the bare address is refused", async () => {
    const codes: string[] = [];
    for (let port = 1000; port < 1005; port++) codes.push(outcome(await register(`203.0.113.50:${port}`)));
    codes.push(outcome(await register("203.0.113.50")));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
  });

  it("junk values share the socket address's counter instead of getting one each", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(outcome(await register(`client-${i}.example`)));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
  });

  it("IPv6 rotating inside one /64 shares a counter; the next /64 has its own; sessions keep the full address", async () => {
    const codes: string[] = [];
    for (let i = 1; i <= 6; i++) codes.push(outcome(await register(`2001:db8:5:6:${i.toString(16)}::${i}`)));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED"]);
    expect(outcome(await register("2001:db8:5:7::1"))).toBe("OK");
    expect(await recordedAddress("2001:db8:5:6:ffff::abcd")).toEqual({ session: "2001:db8:5:6:ffff::abcd", audit: "2001:db8:5:6:ffff::abcd" });
  });
});

describe("address helpers", () => {
  it("parseIpAddress refuses anything that is not one address", () => {
    for (const bad of ["", " ", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::g", "[::1", "::1]:80", "1.2.3.4:", "localhost", "1.2.3.4:80:80"]) {
      expect(parseIpAddress(bad)).toBeNull();
    }
    expect(parseIpAddress("fe80::1%eth0")).toBe("fe80::1");
  });

  it("rateLimitAddress: IPv4 as is, IPv6 as a canonical /64 whatever its spelling", () => {
    expect(rateLimitAddress("203.0.113.5")).toBe("203.0.113.5");
    expect(rateLimitAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(rateLimitAddress("2001:db8:0:0:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:0::/64");
    expect(rateLimitAddress("2001:db8:1:2:3::")).toBe("2001:db8:1:2::/64");
    expect(rateLimitAddress("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitAddress("64:ff9b::203.0.113.5")).toBe("64:ff9b:0:0::/64");
  });
});
