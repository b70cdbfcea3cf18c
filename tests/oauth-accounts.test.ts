/* Linking and unlinking identities, passwords of social-only accounts, and TOTP after a social login (API.md §7, §8). */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { RESET_SUBJECT, emailFlowCalls } from "./support/email-flows.js";
import { LOGIN, signUp } from "./support/flows.js";
import { createMailbox } from "./support/mailbox.js";
import { codeAt, createTestClock, mfaCalls, ok, type TestClock } from "./support/mfa.js";
import { COMPLETE_LINK, MY_IDENTITIES, START_LINK, UNLINK, fieldErrorOf, socialLogin } from "./support/oauth.js";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.js";
import { CHANGE_PASSWORD } from "./support/profile.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let idp: TestIdp;
let t: TestServer;
let clock: TestClock;
const mailbox = createMailbox();

beforeAll(async () => {
  clock = createTestClock();
  idp = await startTestIdp();
  t = await startTestServer({ env: idp.env(), mailTransport: mailbox, now: () => clock.now() });
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});
beforeEach(() => t.reset());

const mfa = mfaCalls(() => t, () => clock);
const flows = emailFlowCalls(() => t, mailbox);
const login = (sub: string) => socialLogin(t, (url) => idp.authorize(url, sub));

interface IdentityView {
  id: string;
  provider: string;
  subject: string;
  email: string | null;
}

function person(overrides: { email?: string; email_verified?: boolean } = {}): string {
  const sub = `sub-${uniqueEmail("p").split("@")[0]}`;
  idp.accounts.set(sub, { email: uniqueEmail("idp"), email_verified: true, ...overrides });
  return sub;
}

async function link(token: string, sub: string, finisher = token) {
  const start = ok(await t.gql<{ startOAuthLink: { flowId: string; authorizationUrl: string } }>(START_LINK, { p: "local" }, { token })).startOAuthLink;
  const callback = await idp.authorize(start.authorizationUrl, sub);
  return t.gql<{ completeOAuthLink: IdentityView }>(COMPLETE_LINK, { f: start.flowId, u: callback }, { token: finisher });
}

const identities = async (token: string) => ok(await t.gql<{ myIdentities: IdentityView[] }>(MY_IDENTITIES, {}, { token })).myIdentities;

describe("linking", () => {
  it("links a provider account whose email differs, even unverified: the signed-in user proved both", async () => {
    const user = await signUp(t);
    const sub = person({ email_verified: false });
    const linked = ok(await link(user.accessToken, sub)).completeOAuthLink;
    expect(linked).toMatchObject({ provider: "local", subject: sub });
    expect(await identities(user.accessToken)).toEqual([{ id: linked.id, provider: "local", subject: sub, email: linked.email }]);
    // The identity now signs in to that account.
    expect(ok(await login(sub)).completeOAuthLogin.user.id).toBe(user.id);
    expect(await auditRows(t, { action: "user.identity_linked", targetId: user.id })).toHaveLength(1);
  });

  it("lets only the user who started a link flow finish it", async () => {
    const alice = await signUp(t);
    const mallory = await signUp(t);
    const res = await link(alice.accessToken, person(), mallory.accessToken);
    expect(fieldErrorOf(res)).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "flowId" }] });
    expect(await identities(mallory.accessToken)).toEqual([]);
  });

  it("is CONFLICT when the identity belongs to another account", async () => {
    const sub = person();
    ok(await login(sub));
    const other = await signUp(t);
    expect(fieldErrorOf(await link(other.accessToken, sub))).toMatchObject({ code: "CONFLICT" });
  });
});

describe("unlinking", () => {
  it("refuses to remove the last way in, and allows it once a password exists", async () => {
    const email = uniqueEmail("solo");
    const sub = person({ email });
    const session = ok(await login(sub)).completeOAuthLogin;
    const [identity] = await identities(session.accessToken);
    const refused = await t.gql(UNLINK, { id: identity!.id }, { token: session.accessToken });
    expect(fieldErrorOf(refused)).toMatchObject({ code: "FORBIDDEN" });
    expect(await auditRows(t, { action: "user.oauth_refused", targetId: session.user.id })).toHaveLength(1);

    // changePassword needs a current password: a social-only account is told to use the reset flow.
    const change = await t.gql(CHANGE_PASSWORD, { input: { currentPassword: "anything", newPassword: OTHER_STRONG_PASSWORD } }, { token: session.accessToken });
    expect(fieldErrorOf(change)).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "currentPassword" }] });
    expect(JSON.stringify(change.body)).toContain("requestPasswordReset");

    await flows.requestReset(email);
    const token = mailbox.tokenFrom(await mailbox.waitFor(email, RESET_SUBJECT), "reset-password");
    expect(ok(await flows.reset(token, STRONG_PASSWORD)).resetPassword).toBe(true);
    const relogged = ok(await t.gql<{ login: { accessToken: string } }>(LOGIN, { input: { email, password: STRONG_PASSWORD } })).login;

    expect(ok(await t.gql<{ unlinkIdentity: boolean }>(UNLINK, { id: identity!.id }, { token: relogged.accessToken })).unlinkIdentity).toBe(true);
    expect(await identities(relogged.accessToken)).toEqual([]);
    expect(await auditRows(t, { action: "user.identity_unlinked", targetId: session.user.id })).toHaveLength(1);
  });

  it("allows removing one of two identities of a passwordless account, not the second", async () => {
    const first = person();
    const session = ok(await login(first)).completeOAuthLogin;
    ok(await link(session.accessToken, person()));
    const [a, b] = await identities(session.accessToken);
    expect(ok(await t.gql<{ unlinkIdentity: boolean }>(UNLINK, { id: a!.id }, { token: session.accessToken })).unlinkIdentity).toBe(true);
    expect(fieldErrorOf(await t.gql(UNLINK, { id: b!.id }, { token: session.accessToken }))).toMatchObject({ code: "FORBIDDEN" });
  });

  it("is NOT_FOUND for another user's identity", async () => {
    const owner = ok(await login(person())).completeOAuthLogin;
    const [identity] = await identities(owner.accessToken);
    const other = await signUp(t);
    expect(fieldErrorOf(await t.gql(UNLINK, { id: identity!.id }, { token: other.accessToken }))).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("TOTP after a social login", () => {
  it("opens a pending session (mfaRequired) that verifyMfa completes, with amr fed then otp", async () => {
    const account = await mfa.mfaAccount("social-mfa");
    await t.deps.db.update(users).set({ emailVerified: true }).where(eq(users.id, account.id));
    const sub = person({ email: account.email });
    const pending = ok(await login(sub)).completeOAuthLogin;
    expect(pending).toMatchObject({ mfaRequired: true, user: { id: account.id } });
    // A pending session may do nothing but finish: myIdentities is refused.
    expect(fieldErrorOf(await t.gql(MY_IDENTITIES, {}, { token: pending.accessToken }))).toMatchObject({ code: "FORBIDDEN", reason: "MFA_REQUIRED" });
    clock.nextStep();
    const done = ok(await mfa.verify(pending.accessToken, codeAt(account.secret, clock))).verifyMfa;
    expect(done.mfaRequired).toBe(false);
    expect(await identities(done.accessToken)).toHaveLength(1);
    const rows = await t.deps.db.select({ amr: sessions.amr }).from(sessions).where(eq(sessions.userId, account.id));
    expect(rows.map((r) => r.amr)).toContainEqual(["fed", "otp"]);
  });
});
