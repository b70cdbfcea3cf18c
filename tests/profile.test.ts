import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { checkPasswordPolicy } from "../src/auth/password.js";
import { users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { expectUnauthenticated, expectBadInput, REGISTER, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import {
  CHANGE_PASSWORD,
  ME,
  REFRESH,
  UPDATE_ME,
  profileCalls,
  type ChangePasswordData,
  type FieldError,
  type MeView,
  type UpdateMeData,
} from "./support/profile.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const { me, meOf, tryLogIn } = profileCalls(() => t);

describe("me", () => {
  it("returns the caller's account and activity", async () => {
    const email = uniqueEmail("profile");
    const reg = await t.gql<{ register: { id: string; createdAt: string } }>(REGISTER, {
      input: { email, password: STRONG_PASSWORD, fullName: "Grace Hopper" },
    });
    expect(reg.body.errors).toBeUndefined();
    const id = reg.body.data!.register.id;
    const first: AuthTokens = await logIn(t, email, STRONG_PASSWORD);

    const view = await meOf(first.accessToken);
    expect(view).toMatchObject({
      id,
      email,
      fullName: "Grace Hopper",
      role: "USER",
      isActive: true,
      emailVerified: false,
      pendingEmail: null,
      deletedAt: null,
      stats: { loginCount: 1, failedLoginsSinceLastLogin: 0, activeSessions: 1, passwordChangedAt: null, accountAgeDays: 0 },
    });
    expect(view.createdAt).toBe(reg.body.data!.register.createdAt);
    expect(Math.abs(Date.parse(view.createdAt) - Date.now())).toBeLessThan(60_000);
    expect(Number.isNaN(Date.parse(view.updatedAt))).toBe(false);
    expect(view.lastLoginAt).not.toBeNull();
    expect(Date.parse(view.lastLoginAt!)).toBeGreaterThanOrEqual(Date.parse(view.createdAt));
    expect(view.stats.lastLoginAt).toBe(view.lastLoginAt);

    // A wrong password counts, a second login resets the count and opens a second session.
    expect(onlyError(await tryLogIn(email, "not the password at all")).extensions.code).toBe("UNAUTHENTICATED");
    expect((await meOf(first.accessToken)).stats.failedLoginsSinceLastLogin).toBe(1);
    await logIn(t, email, STRONG_PASSWORD);
    expect(onlyError(await tryLogIn(email, "still not the password")).extensions.code).toBe("UNAUTHENTICATED");
    expect(onlyError(await tryLogIn(email, "nor is this one")).extensions.code).toBe("UNAUTHENTICATED");
    const later = await meOf(first.accessToken);
    expect(later.stats).toMatchObject({ loginCount: 2, failedLoginsSinceLastLogin: 2, activeSessions: 2 });
    expect(Date.parse(later.lastLoginAt!)).toBeGreaterThanOrEqual(Date.parse(view.lastLoginAt!));
  });

  it("counts whole days since registration in accountAgeDays", async () => {
    const u: TestUser = await signUp(t);
    await t.deps.db
      .update(users)
      .set({ createdAt: sql`now() - interval '10 days 3 hours'` })
      .where(eq(users.id, u.id));
    expect((await meOf(u.accessToken)).stats.accountAgeDays).toBe(10);
  });

  it("answers UNAUTHENTICATED without a token or with a garbage one", async () => {
    expectUnauthenticated(await t.gql<{ me: MeView }>(ME));
    expectUnauthenticated(await me("not.a.jwt"));
  });
});

describe("updateMe", () => {
  it("trims and saves the full name and audits before/after", async () => {
    const u: TestUser = await signUp(t, { fullName: "Old Name" });
    const res = await t.gql<UpdateMeData>(UPDATE_ME, { input: { fullName: "   Ada Lovelace  " } }, { token: u.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.updateMe).toMatchObject({ id: u.id, fullName: "Ada Lovelace", role: "USER" });

    const [row] = await t.deps.db.select().from(users).where(eq(users.id, u.id));
    expect(row!.fullName).toBe("Ada Lovelace");
    expect((await meOf(u.accessToken)).fullName).toBe("Ada Lovelace");

    const events = await auditRows(t, { action: "user.profile_updated", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorId: u.id,
      targetId: u.id,
      details: { before: { fullName: "Old Name" }, after: { fullName: "Ada Lovelace" } },
    });
  });

  it("accepts a name of exactly 100 characters", async () => {
    const u: TestUser = await signUp(t);
    const name = "n".repeat(100);
    const res = await t.gql<UpdateMeData>(UPDATE_ME, { input: { fullName: name } }, { token: u.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.updateMe.fullName).toBe(name);
  });

  it.each<[string, string]>([
    ["empty", ""],
    ["blank", "    "],
    ["over 100 characters", "n".repeat(101)],
    ["a control character", "Ada\u0007Lovelace"],
    ["an ANSI escape", "\u001b[31mAda"],
    ["a newline inside", "Ada\nLovelace"],
  ])("refuses a full name that is %s with BAD_USER_INPUT on fullName", async (_label, fullName) => {
    const u: TestUser = await signUp(t, { fullName: "Unchanged Name" });
    const res = await t.gql<UpdateMeData>(UPDATE_ME, { input: { fullName } }, { token: u.accessToken });
    expectBadInput(res, "fullName");
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, u.id));
    expect(row!.fullName).toBe("Unchanged Name");
  });

  it("rejects a role in the input at the GraphQL layer: a user never changes their role", async () => {
    const u: TestUser = await signUp(t, { fullName: "Plain User" });

    const viaVariables = await t.gql<UpdateMeData>(
      UPDATE_ME,
      { input: { fullName: "Now Admin", role: "ADMIN" } },
      { token: u.accessToken },
    );
    const varError = onlyError(viaVariables);
    expect(varError.extensions.code).toBe("BAD_USER_INPUT");
    expect((varError.extensions["fields"] as FieldError[]).map((f) => f.field)).toEqual([expect.stringMatching(/(^|\.)role$/)]);
    expect(viaVariables.body.data ?? null).toBeNull();

    const inline = await t.gql<UpdateMeData>(
      /* GraphQL */ `mutation { updateMe(input: { fullName: "Now Admin", role: ADMIN }) { id role } }`,
      undefined,
      { token: u.accessToken },
    );
    const inlineError = onlyError(inline);
    expect(inlineError.extensions.code).toBe("BAD_USER_INPUT");
    expect((inlineError.extensions["fields"] as FieldError[]).map((f) => f.field)).toEqual([expect.stringMatching(/(^|\.)role$/)]);

    const [row] = await t.deps.db.select().from(users).where(eq(users.id, u.id));
    expect(row!.role).toBe("USER");
    expect(row!.fullName).toBe("Plain User");
    expect(await auditRows(t, { action: "user.profile_updated", targetId: u.id })).toHaveLength(0);
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    expectUnauthenticated(await t.gql<UpdateMeData>(UPDATE_ME, { input: { fullName: "Nobody" } }));
  });
});

describe("changePassword", () => {
  it("refuses a wrong current password with BAD_USER_INPUT on currentPassword and changes nothing", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<ChangePasswordData>(
      CHANGE_PASSWORD,
      { input: { currentPassword: "this is not my password", newPassword: OTHER_STRONG_PASSWORD } },
      { token: u.accessToken },
    );
    expectBadInput(res, "currentPassword");
    // Nothing happened: the session still works and the old password still logs in.
    expect((await meOf(u.accessToken)).id).toBe(u.id);
    expect((await tryLogIn(u.email, STRONG_PASSWORD)).body.errors).toBeUndefined();
    expect(await auditRows(t, { action: "user.password_changed", targetId: u.id })).toHaveLength(0);
  });

  it("refuses a weak new password with BAD_USER_INPUT on newPassword", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<ChangePasswordData>(
      CHANGE_PASSWORD,
      { input: { currentPassword: u.password, newPassword: "password123" } },
      { token: u.accessToken },
    );
    expectBadInput(res, "newPassword");
    expect((await meOf(u.accessToken)).id).toBe(u.id);
  });

  it("refuses a new password equal to the current one with BAD_USER_INPUT on newPassword", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<ChangePasswordData>(
      CHANGE_PASSWORD,
      { input: { currentPassword: u.password, newPassword: u.password } },
      { token: u.accessToken },
    );
    expectBadInput(res, "newPassword");
    expect((await meOf(u.accessToken)).id).toBe(u.id);
  });

  it("refuses a new password containing the email's local part with BAD_USER_INPUT on newPassword", async () => {
    const u: TestUser = await signUp(t);
    const localPart = u.email.split("@")[0]!;
    const newPassword = `Vermilion-${localPart}-Gazebo-Thistle`;
    // The same password is fine for someone else: only the local part can be the reason for refusing it.
    expect(await checkPasswordPolicy(newPassword, "newPassword", { email: "someone.else@example.com" })).toBeNull();
    const res = await t.gql<ChangePasswordData>(
      CHANGE_PASSWORD,
      { input: { currentPassword: u.password, newPassword } },
      { token: u.accessToken },
    );
    expectBadInput(res, "newPassword");
  });

  it("sets the new password, ends every session and returns a fresh pair for the caller", async () => {
    const u: TestUser = await signUp(t);
    const other: AuthTokens = await logIn(t, u.email, u.password);
    const bystander: TestUser = await signUp(t);
    const before = Date.now();

    const res = await t.gql<ChangePasswordData>(
      CHANGE_PASSWORD,
      { input: { currentPassword: u.password, newPassword: OTHER_STRONG_PASSWORD } },
      { token: u.accessToken },
    );
    expect(res.body.errors).toBeUndefined();
    const fresh = res.body.data!.changePassword;
    expect(fresh.tokenType).toBe("Bearer");
    expect(fresh.expiresIn).toBe(t.config.jwt.accessTtl);
    expect(fresh.user).toEqual({ id: u.id, email: u.email });
    expect(fresh.accessToken).not.toBe(u.accessToken);
    expect(fresh.refreshToken).not.toBe(u.refreshToken);

    // The fresh access token works; it belongs to the only live session.
    const after = await meOf(fresh.accessToken);
    expect(after.id).toBe(u.id);
    expect(after.stats.activeSessions).toBe(1);
    expect(after.stats.passwordChangedAt).not.toBeNull();
    expect(Math.abs(Date.parse(after.stats.passwordChangedAt!) - before)).toBeLessThan(60_000);

    // Every earlier session is over: both access tokens and both refresh tokens.
    expectUnauthenticated(await me(u.accessToken));
    expectUnauthenticated(await me(other.accessToken));
    expectUnauthenticated(await t.gql(REFRESH, { refreshToken: u.refreshToken }));
    expectUnauthenticated(await t.gql(REFRESH, { refreshToken: other.refreshToken }));

    // The fresh refresh token rotates normally.
    const rotated = await t.gql<{ refreshToken: AuthTokens }>(REFRESH, { refreshToken: fresh.refreshToken });
    expect(rotated.body.errors).toBeUndefined();

    // Another user is untouched.
    expect((await meOf(bystander.accessToken)).id).toBe(bystander.id);

    // Login: the new password works, the old one does not.
    expect(onlyError(await tryLogIn(u.email, STRONG_PASSWORD)).extensions.code).toBe("UNAUTHENTICATED");
    const relog = await tryLogIn(u.email, OTHER_STRONG_PASSWORD);
    expect(relog.body.errors).toBeUndefined();
    expect((await meOf(relog.body.data!.login.accessToken)).id).toBe(u.id);

    const events = await auditRows(t, { action: "user.password_changed", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: u.id, targetId: u.id, ip: "127.0.0.1", details: { sessionsRevoked: 2 } });
  });
});
