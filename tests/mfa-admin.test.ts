import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { expectBadInput, onlyError } from "./support/flows.js";
import { createMailbox } from "./support/mailbox.js";
import { codeAt, createTestClock, expectForbidden, mfaCalls, ok, RESET_MFA, type TestClock } from "./support/mfa.js";
import { expectRateLimited } from "./support/rate-limits.js";
import { startTestServer, type TestServer } from "./support/server.js";

let t: TestServer;
let strict: TestServer;
let limited: TestServer;
let clock: TestClock;
const mailbox = createMailbox();
beforeAll(async () => {
  clock = createTestClock();
  t = await startTestServer({ now: () => clock.now(), mailTransport: mailbox });
  // Two more instances on the same database: one with REQUIRE_ADMIN_MFA, one with rate limits on.
  strict = await startTestServer({ now: () => clock.now(), testDb: t.testDb, env: { REQUIRE_ADMIN_MFA: "true" }, outboxWorker: false });
  limited = await startTestServer({ now: () => clock.now(), testDb: t.testDb, env: { RATE_LIMITS: "on" }, outboxWorker: false });
});
afterAll(async () => {
  await limited?.close();
  await strict?.close();
  await t?.close();
});
const calls = mfaCalls(() => t, () => clock);
const strictCalls = mfaCalls(() => strict, () => clock);
const limitedCalls = mfaCalls(() => limited, () => clock);

const makeAdmin = (id: string) => t.deps.db.update(users).set({ role: "ADMIN" }).where(eq(users.id, id));
const USERS_PAGE = /* GraphQL */ `query { users(size: 100) { items { id mfa { totpEnabled recoveryCodesLeft } } } }`;

describe("resetUserMfa (admins only)", () => {
  it("removes every factor of the user, who is told by email; the next login asks for the password only", async () => {
    const admin = await calls.signUp("admin");
    await makeAdmin(admin.id);
    const user = await calls.mfaAccount("lost");
    const res = await t.gql<{ resetUserMfa: { id: string; mfa: unknown } }>(RESET_MFA, { id: user.id }, { token: admin.session.accessToken });
    expect(ok(res).resetUserMfa).toEqual({ id: user.id, mfa: { totpEnabled: false, recoveryCodesLeft: 0 } });
    expect(ok(await calls.login(user.email)).login.mfaRequired).toBe(false);
    const pending = await calls.login(user.email);
    expectBadInput(await calls.verify(ok(pending).login.accessToken, user.recoveryCodes[0]!), "code");
    const [event] = await auditRows(t, { action: "admin.mfa_reset", targetId: user.id });
    expect(event).toMatchObject({ actorId: admin.id, details: { hadTotp: true } });
    const mail = await mailbox.waitFor(user.email, /Two-factor authentication was reset/);
    expect(mail.text).toMatch(/administrator removed two-factor authentication/);
  });

  it("is FORBIDDEN to a USER and NOT_FOUND for an unknown id; admins see every user's mfa in a page of users", async () => {
    const user = await calls.mfaAccount("plain");
    expect(onlyError(await t.gql(RESET_MFA, { id: user.id }, { token: user.session.accessToken })).extensions.code).toBe("FORBIDDEN");
    const admin = await calls.signUp("admin");
    await makeAdmin(admin.id);
    const unknown = await t.gql(RESET_MFA, { id: "00000000-0000-4000-8000-000000000000" }, { token: admin.session.accessToken });
    expect(onlyError(unknown).extensions.code).toBe("NOT_FOUND");
    const page = ok(await t.gql<{ users: { items: Array<{ id: string; mfa: unknown }> } }>(USERS_PAGE, {}, { token: admin.session.accessToken }));
    const byId = new Map(page.users.items.map((u) => [u.id, u.mfa]));
    expect(byId.get(user.id)).toEqual({ totpEnabled: true, recoveryCodesLeft: 10 });
    expect(byId.get(admin.id)).toEqual({ totpEnabled: false, recoveryCodesLeft: 0 });
  });
});

describe("REQUIRE_ADMIN_MFA=true", () => {
  it("refuses an admin without TOTP every admin field (MFA_ENROLLMENT_REQUIRED) until enrolled; other fields work", async () => {
    const admin = await strictCalls.signUp("strict");
    await makeAdmin(admin.id);
    const token = admin.session.accessToken;
    expectForbidden(await strict.gql(USERS_PAGE, {}, { token }), "MFA_ENROLLMENT_REQUIRED");
    expectForbidden(await strict.gql(RESET_MFA, { id: admin.id }, { token }), "MFA_ENROLLMENT_REQUIRED");
    expect(await strictCalls.mfaOf(token)).toEqual({ totpEnabled: false, recoveryCodesLeft: 0 });
    // The same admin on an instance without the rule is let through: the rule is the variable's.
    expect((await t.gql(USERS_PAGE, {}, { token })).body.errors).toBeUndefined();
    await strictCalls.enrol(admin);
    expect((await strict.gql(USERS_PAGE, {}, { token })).body.errors).toBeUndefined();
  });
});

describe("rate limit on code-taking mutations", () => {
  it("allows 5 wrong codes per 15 minutes per user across verifyMfa, disableTotp and regenerateRecoveryCodes; then RATE_LIMITED", async () => {
    const account = await calls.mfaAccount("rl");
    // Right codes give their slot back: an owner signing in on several devices never runs out.
    for (const code of account.recoveryCodes.slice(0, 6)) ok(await limitedCalls.verify((await limitedCalls.pendingLogin(account)).accessToken, code));
    const pending = await limitedCalls.pendingLogin(account);
    clock.nextStep();
    const wrong = codeAt(account.secret, clock) === "000000" ? "000001" : "000000";
    for (let i = 0; i < 3; i += 1) expectBadInput(await limitedCalls.verify(pending.accessToken, wrong), "code");
    expectBadInput(await limitedCalls.disable(account.session.accessToken, wrong), "code");
    expectBadInput(await limitedCalls.regenerate(account.session.accessToken, wrong), "code");
    // Even the right code is refused now, before it is looked at.
    expectRateLimited(await limitedCalls.verify(pending.accessToken, codeAt(account.secret, clock)), 5, 900);
    expectRateLimited(await limitedCalls.disable(account.session.accessToken, codeAt(account.secret, clock)), 5, 900);
    // Another user's budget is untouched.
    const other = await calls.mfaAccount("rl");
    const otherPending = await limitedCalls.pendingLogin(other);
    ok(await limitedCalls.verify(otherPending.accessToken, other.recoveryCodes[0]!));
  });
});
