import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { onlyError } from "./support/flows.js";
import { LOGIN, argon2Params, createCountingHasher, loginCalls } from "./support/login.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

const { hasher: countingHasher, takeHashingWork } = createCountingHasher();

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ hasher: countingHasher });
});
afterAll(async () => {
  await t?.close();
});

const { registerOnly, login, me, sessionCount } = loginCalls(() => t);

describe("login: success", () => {
  it("returns a Bearer AuthPayload of 900 s with the user, and the access token authenticates", async () => {
    const account = await registerOnly();
    const res = await login(account.email, account.password);
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data!.login;
    expect(payload.tokenType).toBe("Bearer");
    expect(payload.expiresIn).toBe(900);
    expect(payload.user).toMatchObject({ id: account.id, email: account.email, fullName: "Login Tester", role: "USER", isActive: true });
    expect(payload.accessToken.split(".")).toHaveLength(3);
    expect(payload.refreshToken.length).toBeGreaterThanOrEqual(32);
    expect(payload.refreshToken).not.toBe(payload.accessToken);
    expect((await me(payload.accessToken)).id).toBe(account.id);
    expect(await sessionCount(account.id)).toBe(1);
  });

  it("trims the email and compares it case-insensitively", async () => {
    const account = await registerOnly();
    const res = await login(`  ${account.email.toUpperCase()}\t `, account.password);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.login.user).toMatchObject({ id: account.id, email: account.email });
  });

  it("sets lastLoginAt and counts logins, as seen through me", async () => {
    const account = await registerOnly();
    const before = Date.now();
    const first = (await login(account.email, account.password)).body.data!.login;
    const after = Date.now();
    const afterFirst = await me(first.accessToken);
    expect(afterFirst.stats.loginCount).toBe(1);
    expect(afterFirst.lastLoginAt).not.toBeNull();
    const firstAt = Date.parse(afterFirst.lastLoginAt!);
    expect(firstAt).toBeGreaterThanOrEqual(before - 2000);
    expect(firstAt).toBeLessThanOrEqual(after + 2000);
    expect(afterFirst.stats.lastLoginAt).toBe(afterFirst.lastLoginAt);
    expect(first.user.lastLoginAt).toBe(afterFirst.lastLoginAt);

    const second = (await login(account.email, account.password)).body.data!.login;
    const afterSecond = await me(second.accessToken);
    expect(afterSecond.stats.loginCount).toBe(2);
    expect(Date.parse(afterSecond.lastLoginAt!)).toBeGreaterThan(firstAt);
    expect(afterSecond.stats.activeSessions).toBe(2);
  });

  it("counts wrong passwords since the last login and resets the count to 0 on success", async () => {
    const account = await registerOnly();
    const first = (await login(account.email, account.password)).body.data!.login;
    expect(first.user.stats.failedLoginsSinceLastLogin).toBe(0);
    for (let i = 0; i < 3; i += 1) {
      expect(onlyError(await login(account.email, OTHER_STRONG_PASSWORD)).extensions.code).toBe("UNAUTHENTICATED");
    }
    expect((await me(first.accessToken)).stats).toMatchObject({ failedLoginsSinceLastLogin: 3, loginCount: 1 });

    const second = (await login(account.email, account.password)).body.data!.login;
    expect(second.user.stats).toEqual({ failedLoginsSinceLastLogin: 0, loginCount: 2 });
    expect((await me(first.accessToken)).stats).toMatchObject({ failedLoginsSinceLastLogin: 0, loginCount: 2 });
  });
});

describe("login: failures", () => {
  it("gives an unknown email and a wrong password the identical error", async () => {
    const account = await registerOnly();
    const unknown = await login(uniqueEmail("nobody"), account.password);
    const wrong = await login(account.email, OTHER_STRONG_PASSWORD);
    for (const res of [unknown, wrong]) {
      expect(res.body.data ?? null).toBeNull();
      expect(onlyError(res).extensions.code).toBe("UNAUTHENTICATED");
    }
    const a = onlyError(unknown);
    const b = onlyError(wrong);
    expect(a.message).toBe(b.message);
    expect(Object.keys(a.extensions).sort()).toEqual(Object.keys(b.extensions).sort());
    expect(unknown.status).toBe(wrong.status);
    expect(a.message).not.toMatch(/unknown|not found|no such|exist/i);
  });

  it("verifies exactly one argon2id hash of the same cost for an unknown email, a deleted account and a wrong password", async () => {
    const account = await registerOnly();
    const gone = await registerOnly();
    await t.deps.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, gone.id));
    const [stored] = await t.deps.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, account.id));
    takeHashingWork();

    await login(uniqueEmail("nobody"), account.password);
    const unknownWork = takeHashingWork();
    await login(gone.email, gone.password);
    const deletedWork = takeHashingWork();
    await login(account.email, OTHER_STRONG_PASSWORD);
    const wrongWork = takeHashingWork();

    expect(wrongWork).toEqual({ verified: [stored!.hash], hashed: 0 });
    for (const work of [unknownWork, deletedWork]) {
      expect(work.hashed).toBe(0);
      expect(work.verified).toHaveLength(1);
      // A real hash made with the stored hashes' parameters, not a shortcut that returns early.
      expect(argon2Params(work.verified[0]!)).toBe(argon2Params(stored!.hash!));
      expect(argon2Params(work.verified[0]!)).toMatch(/^argon2id v=19 m=\d+,t=\d+,p=\d+$/);
    }
  });

  it("refuses a deactivated account with UNAUTHENTICATED and opens no session", async () => {
    const account = await registerOnly();
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, account.id));
    const res = await login(account.email, account.password);
    expect(res.body.data ?? null).toBeNull();
    expect(onlyError(res).extensions.code).toBe("UNAUTHENTICATED");
    expect(await sessionCount(account.id)).toBe(0);
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, account.id));
    expect(row!.loginCount).toBe(0);
    expect(row!.lastLoginAt).toBeNull();
    const failed = (await auditRows(t, { targetId: account.id })).filter((e) => e.action === "user.login_failed");
    expect(failed.map((e) => e.details)).toEqual([{ reason: "deactivated" }]);
  });

  it("refuses a deleted account with the same error as an unknown email", async () => {
    const account = await registerOnly();
    await t.deps.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, account.id));
    const deleted = await login(account.email, account.password);
    const unknown = await login(uniqueEmail("nobody"), account.password);
    expect(deleted.body.data ?? null).toBeNull();
    expect(onlyError(deleted).extensions.code).toBe("UNAUTHENTICATED");
    expect(onlyError(deleted).message).toBe(onlyError(unknown).message);
    expect(await sessionCount(account.id)).toBe(0);
    const failed = (await auditRows(t, { targetId: account.id })).filter((e) => e.action === "user.login_failed");
    expect(failed.map((e) => e.details)).toEqual([{ email: account.email, reason: "deleted" }]);
  });
});

describe("login: audit trail", () => {
  it("writes user.login_failed with the reason and user.login with the session, in order", async () => {
    const account = await registerOnly();
    await login(account.email, OTHER_STRONG_PASSWORD);
    const ok = (await login(account.email, account.password)).body.data!.login;
    const events = await auditRows(t, { targetId: account.id });
    expect(events.map((e) => e.action)).toEqual(["user.registered", "user.login_failed", "user.login"]);
    expect(events[1]).toMatchObject({ actorId: null, targetId: account.id, ip: "127.0.0.1", details: { reason: "wrong_password" } });
    const [session] = await t.deps.db.select().from(sessions).where(eq(sessions.userId, account.id));
    expect(events[2]).toMatchObject({ actorId: account.id, targetId: account.id, ip: "127.0.0.1", details: { sessionId: session!.id } });
    expect((await me(ok.accessToken)).id).toBe(account.id);
  });

  it("writes user.login_failed with reason unknown_email and no target for an unknown address", async () => {
    const email = uniqueEmail("ghost");
    await login(`  ${email.toUpperCase()} `, STRONG_PASSWORD);
    const events = await auditRows(t, { action: "user.login_failed", email });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: null, targetId: null, ip: "127.0.0.1", details: { email, reason: "unknown_email" } });
  });
});

describe("login: input", () => {
  const fieldsOf = (res: GqlResponse): string[] => {
    const error = onlyError(res);
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    return ((error.extensions["fields"] ?? []) as Array<{ field: string; message: string }>).map((f) => f.field);
  };

  it("refuses an empty password as BAD_USER_INPUT on password, before any hashing", async () => {
    const account = await registerOnly();
    takeHashingWork();
    expect(fieldsOf(await login(account.email, ""))).toEqual(["password"]);
    expect(takeHashingWork().verified).toEqual([]);
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, account.id));
    expect(row!.failedLoginsSinceLastLogin).toBe(0);
  });

  it("refuses a malformed email as BAD_USER_INPUT on email", async () => {
    expect(fieldsOf(await login("not-an-email", STRONG_PASSWORD))).toEqual(["email"]);
    expect(fieldsOf(await login("   ", STRONG_PASSWORD))).toEqual(["email"]);
  });

  it("names every bad field at once", async () => {
    expect(fieldsOf(await login("nope@", "")).sort()).toEqual(["email", "password"]);
  });

  it("refuses a password over 1024 characters without hashing it", async () => {
    const account = await registerOnly();
    takeHashingWork();
    expect(fieldsOf(await login(account.email, "x".repeat(1025)))).toEqual(["password"]);
    expect(takeHashingWork().verified).toEqual([]);
  });

  it("refuses missing variable fields as BAD_USER_INPUT naming them", async () => {
    const noPassword = await t.gql(LOGIN, { input: { email: uniqueEmail() } });
    expect(fieldsOf(noPassword)).toEqual(["input.password"]);
    const noEmail = await t.gql(LOGIN, { input: { password: STRONG_PASSWORD } });
    expect(fieldsOf(noEmail)).toEqual(["input.email"]);
    const noInput = await t.gql(LOGIN, {});
    expect(fieldsOf(noInput)).toEqual(["input"]);
    const nullPassword = await t.gql(LOGIN, { input: { email: uniqueEmail(), password: null } });
    expect(fieldsOf(nullPassword)).toEqual(["input.password"]);
  });
});
