import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_QUERY, ME_ROLE, REFRESH, adminChangeCalls, codeOf, type Role } from "./support/admin-changes.js";
import { auditRows } from "./support/audit.js";
import { expectBadInput, LOGIN, logIn, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const { update, updated, row, activeAdminIds, meCode } = adminChangeCalls(() => t);

describe("updateUser: access and input", () => {
  it("refuses a USER (FORBIDDEN) and no token (UNAUTHENTICATED); unknown id NOT_FOUND; malformed id on field id", async () => {
    const user: TestUser = await signUp(t);
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    expect(codeOf(await update(user.accessToken, admin.id, { fullName: "Hacker" }))).toBe("FORBIDDEN");
    expect(codeOf(await update(undefined, user.id, { fullName: "Anon" }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await update(admin.accessToken, randomUUID(), { fullName: "Ghost" }))).toBe("NOT_FOUND");
    expectBadInput(await update(admin.accessToken, "not-a-uuid", { fullName: "X" }), /^id$/);
    expect((await row(admin.id)).fullName).toBe("Test User");
  });

  it("refuses a bad fullName or email with BAD_USER_INPUT on that field and changes nothing", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t, { fullName: "Kept Name" });
    expectBadInput(await update(admin.accessToken, u.id, { fullName: "   " }), /(^|\.)fullName$/);
    expectBadInput(await update(admin.accessToken, u.id, { fullName: "Bad\u0007Name" }), /(^|\.)fullName$/);
    expectBadInput(await update(admin.accessToken, u.id, { email: "not-an-email" }), /(^|\.)email$/);
    expect(await row(u.id)).toMatchObject({ fullName: "Kept Name", email: u.email });
  });

  it("answers CONFLICT for an email another account holds, whatever its case", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const other: TestUser = await signUp(t);
    expect(codeOf(await update(admin.accessToken, u.id, { email: other.email.toUpperCase() }))).toBe("CONFLICT");
    expect(codeOf(await update(admin.accessToken, u.id, { email: ` ${other.email} ` }))).toBe("CONFLICT");
    expect((await row(u.id)).email).toBe(u.email);
  });
});

describe("updateUser: changes", () => {
  it("changes each field, returns it, and audits before/after", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t, { fullName: "Before Name" });
    expect((await updated(admin.accessToken, u.id, { fullName: "  After Name " })).fullName).toBe("After Name");
    const email = uniqueEmail("renamed");
    expect((await updated(admin.accessToken, u.id, { email: email.toUpperCase() })).email).toBe(email);
    expect((await updated(admin.accessToken, u.id, { emailVerified: true })).emailVerified).toBe(true);
    expect((await updated(admin.accessToken, u.id, { role: "ADMIN" })).role).toBe("ADMIN");
    expect((await updated(admin.accessToken, u.id, { role: "USER" })).role).toBe("USER");
    expect((await updated(admin.accessToken, u.id, { isActive: false })).isActive).toBe(false);
    expect((await updated(admin.accessToken, u.id, { isActive: true })).isActive).toBe(true);
    expect(await row(u.id)).toMatchObject({ fullName: "After Name", email, emailVerified: true, role: "USER", isActive: true });

    const events = await auditRows(t, { action: "admin.user_updated", targetId: u.id });
    expect(events).toHaveLength(7);
    const first = events.find((e) => (e.details as { after: { fullName: string } }).after.fullName === "After Name" &&
      (e.details as { before: { fullName: string } }).before.fullName === "Before Name");
    expect(first).toMatchObject({
      actorId: admin.id,
      details: { before: { fullName: "Before Name", email: u.email, role: "USER" }, after: { fullName: "After Name", email: u.email } },
    });
  });

  it("applies an admin-set email at once: login works with it and pendingEmail is cleared", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const pending = uniqueEmail("pending");
    const req = await t.gql(
      `mutation($e: String!, $p: String) { updateMe(input: { email: $e, currentPassword: $p }) { id } }`,
      { e: pending, p: u.password },
      { token: u.accessToken },
    );
    expect(req.body.errors).toBeUndefined();
    expect((await row(u.id)).pendingEmail).toBe(pending);

    const fresh = uniqueEmail("admin-set");
    const view = await updated(admin.accessToken, u.id, { email: fresh });
    expect(view).toMatchObject({ email: fresh, pendingEmail: null });
    expect(await row(u.id)).toMatchObject({ email: fresh, pendingEmail: null });
    await expect(logIn(t, fresh, u.password)).resolves.toMatchObject({ accessToken: expect.any(String) });
    expect(codeOf(await t.gql(LOGIN, { input: { email: u.email, password: u.password } }))).toBe("UNAUTHENTICATED");
  });

  it("refuses self-demotion and self-deactivation with FORBIDDEN", async () => {
    const a: TestUser = await signUp(t, { role: "ADMIN" });
    await signUp(t, { role: "ADMIN" }); // another admin: the refusal is about "self", not "last"
    expect(codeOf(await update(a.accessToken, a.id, { role: "USER" }))).toBe("FORBIDDEN");
    expect(codeOf(await update(a.accessToken, a.id, { isActive: false }))).toBe("FORBIDDEN");
    expect(await row(a.id)).toMatchObject({ role: "ADMIN", isActive: true });
  });

  it("refuses self-demotion and self-deactivation when the own id is written in upper case", async () => {
    const a: TestUser = await signUp(t, { role: "ADMIN" });
    await signUp(t, { role: "ADMIN" });
    expect(codeOf(await update(a.accessToken, a.id.toUpperCase(), { role: "USER" }))).toBe("FORBIDDEN");
    expect(codeOf(await update(a.accessToken, a.id.toUpperCase(), { isActive: false }))).toBe("FORBIDDEN");
    expect(await row(a.id)).toMatchObject({ role: "ADMIN", isActive: true });
  });

  it("never leaves zero active admins: A demotes B, then B can no longer act", async () => {
    await t.reset();
    const a: TestUser = await signUp(t, { role: "ADMIN" });
    const b: TestUser = await signUp(t, { role: "ADMIN" });
    expect((await updated(a.accessToken, b.id, { role: "USER" })).role).toBe("USER");
    expect(await activeAdminIds()).toEqual([a.id]);
    expect(codeOf(await update(b.accessToken, a.id, { role: "USER" }))).toBe("FORBIDDEN");
    expect(codeOf(await update(b.accessToken, a.id, { isActive: false }))).toBe("FORBIDDEN");
    expect(codeOf(await update(a.accessToken, a.id, { role: "USER" }))).toBe("FORBIDDEN");
    expect(await activeAdminIds()).toEqual([a.id]);
  });

  it("acts at the target's next request: promotion and demotion show on the existing token", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    expect(codeOf(await t.gql(ADMIN_QUERY, {}, { token: u.accessToken }))).toBe("FORBIDDEN");
    await updated(admin.accessToken, u.id, { role: "ADMIN" });
    expect((await t.gql<{ me: { role: Role } }>(ME_ROLE, {}, { token: u.accessToken })).body.data!.me.role).toBe("ADMIN");
    expect((await t.gql(ADMIN_QUERY, {}, { token: u.accessToken })).body.errors).toBeUndefined();
    await updated(admin.accessToken, u.id, { role: "USER" });
    expect((await t.gql<{ me: { role: Role } }>(ME_ROLE, {}, { token: u.accessToken })).body.data!.me.role).toBe("USER");
    expect(codeOf(await t.gql(ADMIN_QUERY, {}, { token: u.accessToken }))).toBe("FORBIDDEN");
  });

  it("deactivation revokes the target's sessions: token and refresh are refused", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const second: AuthTokens = await logIn(t, u.email, u.password);
    await updated(admin.accessToken, u.id, { isActive: false });
    expect(await meCode(u)).toBe("UNAUTHENTICATED");
    expect(codeOf(await t.gql(REFRESH, { t: second.refreshToken }))).toBe("UNAUTHENTICATED");
    await updated(admin.accessToken, u.id, { isActive: true }); // revoked, not merely hidden
    expect(await meCode(second)).toBe("UNAUTHENTICATED");
    expect(codeOf(await t.gql(REFRESH, { t: u.refreshToken }))).toBe("UNAUTHENTICATED");
  });
});
