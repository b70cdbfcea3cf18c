/* Social login through a real OpenID provider (oidc-provider on 127.0.0.1): sign-up, second sign-in, linking rules. */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { LOGIN, signUp } from "./support/flows.js";
import { createCountingHasher, ME } from "./support/login.js";
import { COMPLETE_LOGIN, MY_IDENTITIES, PROVIDERS, socialLogin, fieldErrorOf, startLogin } from "./support/oauth.js";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.js";
import { startTestServer, STRONG_PASSWORD, uniqueEmail, type TestServer } from "./support/server.js";

let idp: TestIdp;
let t: TestServer;
const counting = createCountingHasher();

beforeAll(async () => {
  idp = await startTestIdp();
  t = await startTestServer({ env: idp.env(), hasher: counting.hasher });
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});
beforeEach(() => t.reset());

const login = (sub: string) => socialLogin(t, (url) => idp.authorize(url, sub));

describe("social login (OpenID Connect)", () => {
  it("lists the discovered provider", async () => {
    expect((await t.gql<{ oauthProviders: string[] }>(PROVIDERS)).body.data?.oauthProviders).toEqual(["local"]);
  });

  it("signs up a verified USER without a password, and signs the same identity in again", async () => {
    const email = uniqueEmail("social");
    idp.accounts.set("alice-1", { email: email.toUpperCase(), email_verified: true, name: "Alice Social" });
    const first = await login("alice-1");
    const payload = first.body.data!.completeOAuthLogin;
    expect(payload.mfaRequired).toBe(false);
    expect(payload.user).toMatchObject({ email, emailVerified: true });
    const me = await t.gql<{ me: { id: string; email: string } }>(ME, {}, { token: payload.accessToken });
    expect(me.body.data?.me.id).toBe(payload.user.id);

    const second = await login("alice-1");
    expect(second.body.data!.completeOAuthLogin.user.id).toBe(payload.user.id);
    const ids = await t.gql<{ myIdentities: Array<{ provider: string; subject: string; email: string }> }>(MY_IDENTITIES, {}, { token: payload.accessToken });
    expect(ids.body.data?.myIdentities).toEqual([expect.objectContaining({ provider: "local", subject: "alice-1", email })]);
    expect((await auditRows(t, { action: "user.registered", targetId: payload.user.id })).length).toBe(1);
    expect((await auditRows(t, { action: "user.login", targetId: payload.user.id })).length).toBe(2);

    // No password: a password login fails exactly as a wrong one, with the same work (one verify, against the dummy hash).
    counting.takeHashingWork();
    const pw = await t.gql(LOGIN, { input: { email, password: STRONG_PASSWORD } });
    expect(fieldErrorOf(pw)).toMatchObject({ code: "UNAUTHENTICATED", reason: "INVALID_CREDENTIALS" });
    expect(counting.takeHashingWork()).toEqual({ verified: [await t.deps.hasher.dummyHash()], hashed: 0 });
    expect(await auditRows(t, { action: "user.login_failed", targetId: payload.user.id })).toHaveLength(1);
  });

  it("refuses a new identity whose email the provider does not call verified", async () => {
    idp.accounts.set("unverified-1", { email: uniqueEmail("unv"), email_verified: false });
    const res = await login("unverified-1");
    expect(fieldErrorOf(res)).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "callbackUrl" }] });
    expect(await auditRows(t, { action: "user.registered" })).toHaveLength(0);
  });

  it("links itself to an existing account only when both emails are verified", async () => {
    const email = uniqueEmail("both");
    const user = await signUp(t, { email });
    await t.deps.db.update(users).set({ emailVerified: true }).where(eq(users.id, user.id));
    idp.accounts.set("both-1", { email, email_verified: true });
    const res = await login("both-1");
    expect(res.body.data?.completeOAuthLogin.user.id).toBe(user.id);
    expect(await auditRows(t, { action: "user.identity_linked", targetId: user.id })).toHaveLength(1);
  });

  it("is CONFLICT LINK_REQUIRED when the account's email is not verified", async () => {
    const email = uniqueEmail("acct-unv");
    const user = await signUp(t, { email });
    idp.accounts.set("acct-unv-1", { email, email_verified: true });
    const res = await login("acct-unv-1");
    expect(fieldErrorOf(res)).toMatchObject({ code: "CONFLICT", reason: "LINK_REQUIRED" });
    expect(await auditRows(t, { action: "user.identity_linked", targetId: user.id })).toHaveLength(0);
    expect(await auditRows(t, { action: "user.oauth_refused" })).toHaveLength(1);
  });

  it("is CONFLICT LINK_REQUIRED when the provider's email is not verified", async () => {
    const email = uniqueEmail("idp-unv");
    const user = await signUp(t, { email });
    await t.deps.db.update(users).set({ emailVerified: true }).where(eq(users.id, user.id));
    idp.accounts.set("idp-unv-1", { email, email_verified: false });
    const res = await login("idp-unv-1");
    expect(fieldErrorOf(res)).toMatchObject({ code: "CONFLICT", reason: "LINK_REQUIRED" });
    expect(await auditRows(t, { action: "user.identity_linked" })).toHaveLength(0);
  });

  it("returns its tokens through the cookie transport when asked, like login", async () => {
    idp.accounts.set("cookie-1", { email: uniqueEmail("cookie"), email_verified: true });
    const start = await startLogin(t);
    const callback = await idp.authorize(start.authorizationUrl, "cookie-1");
    const cookie = { headers: { "x-auth-transport": "cookie" } };
    const res = await t.gql<{ completeOAuthLogin: { refreshToken: string | null } }>(COMPLETE_LOGIN, { f: start.flowId, u: callback }, cookie);
    expect(res.body.data?.completeOAuthLogin.refreshToken).toBeNull();
    expect(res.headers.getSetCookie().join("\n")).toMatch(/^gh_refresh=[^;]+;.*HttpOnly/im);
  });

  it("refuses a deactivated account", async () => {
    const email = uniqueEmail("gone");
    idp.accounts.set("gone-1", { email, email_verified: true });
    const first = await login("gone-1");
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, first.body.data!.completeOAuthLogin.user.id));
    expect(fieldErrorOf(await login("gone-1"))).toMatchObject({ code: "UNAUTHENTICATED", reason: "ACCOUNT_INACTIVE" });
  });
});
