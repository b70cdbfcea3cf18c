/* The flow's own defences (API.md §8): one flow per browser, single use, 10 minutes, verified answers. */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oauthFlows } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { captureLogs } from "./support/logs.js";
import { completeLogin, fieldErrorOf, startLogin, START_LOGIN } from "./support/oauth.js";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let idp: TestIdp;
let t: TestServer;
const logs = captureLogs("warn");

beforeAll(async () => {
  idp = await startTestIdp();
  t = await startTestServer({ env: idp.env(), logger: logs.logger });
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});
beforeEach(async () => {
  idp.misbehave = "none";
  await t.reset();
});

function person(): string {
  const sub = `sub-${uniqueEmail("x").split("@")[0]}`;
  idp.accounts.set(sub, { email: uniqueEmail("flow"), email_verified: true });
  return sub;
}

const badOn = (field: string) => ({ code: "BAD_USER_INPUT", fields: [expect.objectContaining({ field })] });

describe("social-login flows", () => {
  it("uses PKCE S256, a state and a nonce, fresh per flow", async () => {
    const a = new URL((await startLogin(t)).authorizationUrl);
    const b = new URL((await startLogin(t)).authorizationUrl);
    expect(a.searchParams.get("code_challenge_method")).toBe("S256");
    for (const param of ["code_challenge", "state", "nonce"]) {
      expect(a.searchParams.get(param)).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      expect(a.searchParams.get(param)).not.toBe(b.searchParams.get(param));
    }
    expect(a.searchParams.get("redirect_uri")).toBe("http://localhost:3000/oauth/callback");
    // The verifier is stored sealed, never as the challenge's preimage in clear.
    const [row] = await t.deps.db.select().from(oauthFlows).limit(1);
    expect(row!.codeVerifierSealed).toMatch(/^v1\./);
  });

  it("refuses a callback that belongs to another flow (a planted URL), and the victim's flow is then spent", async () => {
    const sub = person();
    const attacker = await startLogin(t);
    const plantedCallback = await idp.authorize(attacker.authorizationUrl, sub);
    const victim = await startLogin(t);
    expect(fieldErrorOf(await completeLogin(t, victim.flowId, plantedCallback))).toMatchObject(badOn("callbackUrl"));
    expect(await auditRows(t, { action: "user.oauth_refused" })).toHaveLength(1);
    expect(await auditRows(t, { action: "user.registered" })).toHaveLength(0);
  });

  it("refuses a replayed callback: a flow is single use", async () => {
    const start = await startLogin(t);
    const callback = await idp.authorize(start.authorizationUrl, person());
    expect((await completeLogin(t, start.flowId, callback)).body.data?.completeOAuthLogin.accessToken).toBeTruthy();
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback))).toMatchObject(badOn("flowId"));
  });

  it("refuses a wrong state", async () => {
    const start = await startLogin(t);
    const callback = new URL(await idp.authorize(start.authorizationUrl, person()));
    callback.searchParams.set("state", "not-the-state-of-this-flow");
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback.toString()))).toMatchObject(badOn("callbackUrl"));
  });

  it("refuses a callback on another host than OAUTH_REDIRECT_URI", async () => {
    const start = await startLogin(t);
    const callback = new URL(await idp.authorize(start.authorizationUrl, person()));
    const elsewhere = `https://evil.example${callback.pathname}${callback.search}`;
    expect(fieldErrorOf(await completeLogin(t, start.flowId, elsewhere))).toMatchObject(badOn("callbackUrl"));
  });

  it.each([
    ["another", (u: URL) => u.searchParams.set("iss", "https://idp.evil.example")],
    ["a missing", (u: URL) => u.searchParams.delete("iss")],
  ] as const)("refuses %s RFC 9207 iss in the callback (the provider announces it sends one)", async (_label, tamper) => {
    const start = await startLogin(t);
    const callback = new URL(await idp.authorize(start.authorizationUrl, person()));
    expect(callback.searchParams.get("iss")).toBe(idp.issuer);
    tamper(callback);
    logs.lines.length = 0;
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback.toString()))).toMatchObject(badOn("callbackUrl"));
    expect(logs.lines.join("")).toMatch(/"detail":"[^"]*\\"iss\\" \(issuer\)/);
  });

  it("refuses the provider's error= callback", async () => {
    const start = await startLogin(t);
    const state = new URL(start.authorizationUrl).searchParams.get("state");
    const res = await completeLogin(t, start.flowId, `http://localhost:3000/oauth/callback?error=access_denied&state=${state}`);
    expect(fieldErrorOf(res)).toMatchObject(badOn("callbackUrl"));
  });

  it("refuses an ID token with a nonce other than the flow's", async () => {
    idp.misbehave = "nonce";
    const start = await startLogin(t);
    const callback = await idp.authorize(start.authorizationUrl, person());
    logs.lines.length = 0;
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback))).toMatchObject(badOn("callbackUrl"));
    expect(await auditRows(t, { action: "user.registered" })).toHaveLength(0);
    // Refused by openid-client's ID token check, not by anything before it.
    expect(logs.lines.join("")).toMatch(/"code":"OAUTH_JWT_CLAIM_COMPARISON_FAILED".*"claim":"nonce"/);
  });

  it.each([
    ["audience", "aud"],
    ["issuer", "iss"],
  ] as const)("refuses a validly signed ID token with the wrong %s", async (mode, claim) => {
    idp.misbehave = mode;
    const start = await startLogin(t);
    const callback = await idp.authorize(start.authorizationUrl, person());
    logs.lines.length = 0;
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback))).toMatchObject(badOn("callbackUrl"));
    expect(logs.lines.join("")).toContain(`"claim":"${claim}"`);
    expect(await auditRows(t, { action: "user.registered" })).toHaveLength(0);
  });

  it("refuses an expired flow", async () => {
    const start = await startLogin(t);
    const callback = await idp.authorize(start.authorizationUrl, person());
    await t.deps.db.update(oauthFlows).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(oauthFlows.id, start.flowId));
    expect(fieldErrorOf(await completeLogin(t, start.flowId, callback))).toMatchObject(badOn("flowId"));
  });

  it("gives a flow 10 minutes", async () => {
    const start = await startLogin(t);
    const [row] = await t.deps.db.select().from(oauthFlows).where(eq(oauthFlows.id, start.flowId));
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(600_000);
  });

  it("refuses an unknown flow id, a malformed one and an unknown provider precisely", async () => {
    expect(fieldErrorOf(await completeLogin(t, "7d0c5d1e-0000-4000-8000-000000000000", "http://localhost:3000/oauth/callback?code=x&state=y"))).toMatchObject(badOn("flowId"));
    expect(fieldErrorOf(await completeLogin(t, "nope", "http://localhost:3000/oauth/callback"))).toMatchObject(badOn("flowId"));
    expect(fieldErrorOf(await completeLogin(t, "7d0c5d1e-0000-4000-8000-000000000000", "not a url"))).toMatchObject(badOn("callbackUrl"));
    expect(fieldErrorOf(await t.gql(START_LOGIN, { p: "nowhere" }))).toMatchObject(badOn("provider"));
  });
});
