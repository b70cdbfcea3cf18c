import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq, isNull, sql } from "drizzle-orm";
import { checkPasswordPolicy } from "../src/auth/password.js";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { expectUnauthenticated, expectBadInput, LOGIN, REGISTER, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import {
  OTHER_STRONG_PASSWORD,
  STRONG_PASSWORD,
  startTestServer,
  uniqueEmail,
  type GqlResponse,
  type TestServer,
} from "./support/server.js";

const ME = /* GraphQL */ `
  query Me {
    me {
      id email fullName role isActive emailVerified pendingEmail createdAt updatedAt lastLoginAt deletedAt
      stats { loginCount lastLoginAt failedLoginsSinceLastLogin activeSessions passwordChangedAt accountAgeDays }
    }
  }
`;

const UPDATE_ME = /* GraphQL */ `
  mutation UpdateMe($input: UpdateMeInput!) {
    updateMe(input: $input) { id fullName role updatedAt }
  }
`;

const CHANGE_PASSWORD = /* GraphQL */ `
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) { accessToken refreshToken tokenType expiresIn user { id email } }
  }
`;

const REFRESH = /* GraphQL */ `
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
  }
`;

const DEACTIVATE_ME = /* GraphQL */ `
  mutation DeactivateMe($confirm: Boolean!) {
    deactivateMe(confirm: $confirm)
  }
`;

interface UserActivityView {
  loginCount: number;
  lastLoginAt: string | null;
  failedLoginsSinceLastLogin: number;
  activeSessions: number;
  passwordChangedAt: string | null;
  accountAgeDays: number;
}

interface MeView {
  id: string;
  email: string;
  fullName: string;
  role: "USER" | "ADMIN";
  isActive: boolean;
  emailVerified: boolean;
  pendingEmail: string | null;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  deletedAt: string | null;
  stats: UserActivityView;
}

interface UpdateMeData {
  updateMe: { id: string; fullName: string; role: "USER" | "ADMIN"; updatedAt: string };
}

interface ChangePasswordData {
  changePassword: AuthTokens & { tokenType: string; expiresIn: number; user: { id: string; email: string } };
}

interface FieldError {
  field: string;
  message: string;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

function me(token: string): Promise<GqlResponse<{ me: MeView }>> {
  return t.gql<{ me: MeView }>(ME, {}, { token });
}

async function meOf(token: string): Promise<MeView> {
  const res = await me(token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.me;
}

async function tryLogIn(email: string, password: string): Promise<GqlResponse<{ login: AuthTokens }>> {
  return t.gql<{ login: AuthTokens }>(LOGIN, { input: { email, password } });
}

async function activeAdminIds(): Promise<string[]> {
  const rows = await t.deps.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.isActive, true), isNull(users.deletedAt)));
  return rows.map((r) => r.id).sort();
}

function deactivateMe(token: string, confirm: boolean): Promise<GqlResponse<{ deactivateMe: boolean }>> {
  return t.gql<{ deactivateMe: boolean }>(DEACTIVATE_ME, { confirm }, { token });
}

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

describe("deactivateMe", () => {
  it("refuses confirm: false with BAD_USER_INPUT on confirm and leaves the account alone", async () => {
    const u: TestUser = await signUp(t);
    const res = await deactivateMe(u.accessToken, false);
    expectBadInput(res, "confirm");
    expect((await meOf(u.accessToken)).isActive).toBe(true);
  });

  it("deactivates the caller: the token is refused, login is refused, and it is audited", async () => {
    const u: TestUser = await signUp(t);
    const other: AuthTokens = await logIn(t, u.email, u.password);
    const third: AuthTokens = await logIn(t, u.email, u.password);

    const res = await deactivateMe(u.accessToken, true);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ deactivateMe: true });

    expectUnauthenticated(await me(u.accessToken));
    expectUnauthenticated(await me(other.accessToken));
    expectUnauthenticated(await t.gql(REFRESH, { refreshToken: other.refreshToken }));
    expectUnauthenticated(await tryLogIn(u.email, u.password));

    const [row] = await t.deps.db.select().from(users).where(eq(users.id, u.id));
    expect(row!.isActive).toBe(false);
    const events = await auditRows(t, { action: "user.deactivated", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: u.id, targetId: u.id, ip: "127.0.0.1" });

    // Deactivation revokes the sessions, not merely hides them: reactivating the account does not
    // bring the old tokens back.
    const userSessions = await t.deps.db.select().from(sessions).where(eq(sessions.userId, u.id));
    expect(userSessions).toHaveLength(3);
    expect(userSessions.every((s) => s.revokedAt !== null)).toBe(true);
    await t.deps.db.update(users).set({ isActive: true }).where(eq(users.id, u.id));
    expectUnauthenticated(await me(u.accessToken));
    expectUnauthenticated(await me(third.accessToken));
    // A refresh token never presented before (presenting a used one fails for another reason).
    expectUnauthenticated(await t.gql(REFRESH, { refreshToken: third.refreshToken }));
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    expectUnauthenticated(await t.gql(DEACTIVATE_ME, { confirm: true }));
  });

  it("refuses the last active admin with FORBIDDEN and lets an admin go while another remains", async () => {
    await t.reset();
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    await signUp(t); // a plain user does not count as an admin
    // Neither do a deactivated admin nor a soft-deleted one.
    const inactiveAdmin: TestUser = await signUp(t, { role: "ADMIN" });
    const deletedAdmin: TestUser = await signUp(t, { role: "ADMIN" });
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, inactiveAdmin.id));
    await t.deps.db.update(users).set({ deletedAt: sql`now()` }).where(eq(users.id, deletedAdmin.id));

    const refused = await deactivateMe(admin.accessToken, true);
    expect(onlyError(refused).extensions.code).toBe("FORBIDDEN");
    expect(refused.body.data ?? null).toBeNull();
    expect((await meOf(admin.accessToken)).isActive).toBe(true);
    expect(await activeAdminIds()).toEqual([admin.id]);
    expect(await auditRows(t, { action: "user.deactivated", targetId: admin.id })).toHaveLength(0);

    const second: TestUser = await signUp(t, { role: "ADMIN" });
    const ok = await deactivateMe(admin.accessToken, true);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data).toEqual({ deactivateMe: true });
    expect(await activeAdminIds()).toEqual([second.id]);

    // Now `second` is the last one.
    const refusedAgain = await deactivateMe(second.accessToken, true);
    expect(onlyError(refusedAgain).extensions.code).toBe("FORBIDDEN");
    expect(await activeAdminIds()).toEqual([second.id]);
  });

  // PGlite runs one transaction at a time, so there the second deactivation simply finds itself the last
  // admin (the test above): only PostgreSQL lets the two race for the admin-invariant lock.
  it.runIf(backend === "postgres")("lets exactly one of two admins deactivating at the same moment through (PostgreSQL)", async () => {
    // A few rounds: a check-then-act race would not lose every time.
    for (let round = 0; round < 4; round += 1) {
      await t.reset();
      const a: TestUser = await signUp(t, { role: "ADMIN" });
      const b: TestUser = await signUp(t, { role: "ADMIN" });
      expect(await activeAdminIds()).toEqual([a.id, b.id].sort());

      const results = await Promise.all([deactivateMe(a.accessToken, true), deactivateMe(b.accessToken, true)]);
      const ok = results.filter((r) => r.body.data?.deactivateMe === true && !r.body.errors);
      const forbidden = results.filter((r) => r.body.errors?.length === 1 && r.body.errors[0]!.extensions.code === "FORBIDDEN");
      expect(ok, `round ${round}: ${JSON.stringify(results.map((r) => r.body))}`).toHaveLength(1);
      expect(forbidden, `round ${round}`).toHaveLength(1);

      const remaining = await activeAdminIds();
      expect(remaining).toHaveLength(1);
      // The one refused is the one still active.
      const refusedId = results[0] === forbidden[0] ? a.id : b.id;
      expect(remaining).toEqual([refusedId]);
      const deactivations = await auditRows(t, { action: "user.deactivated" });
      expect(deactivations).toHaveLength(1);
    }
  });
});
