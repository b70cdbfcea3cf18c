import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { sessions } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { expectUnauthenticated, LOGIN, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { DAY_MS, LOGOUT, MY_SESSIONS, REVOKE_SESSION, sessionCalls, sessionIdOf, type MySessionsData, type SessionView } from "./support/sessions.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const { me, refresh, expectMeWorks } = sessionCalls(() => t);

describe("mySessions", () => {
  async function logInAs(email: string, password: string, userAgent: string): Promise<AuthTokens> {
    const res = await t.gql<{ login: AuthTokens }>(LOGIN, { input: { email, password } }, { headers: { "user-agent": userAgent } });
    if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
    return res.body.data.login;
  }

  it("lists the caller's live sessions only, marking exactly the current one", async () => {
    const u: TestUser = await signUp(t);
    const stranger: TestUser = await signUp(t);
    const laptop: AuthTokens = await logInAs(u.email, u.password, "GatehouseTest/1.0 (laptop)");
    const phone: AuthTokens = await logInAs(u.email, u.password, "GatehouseTest/1.0 (phone)");
    const loggedOut: AuthTokens = await logInAs(u.email, u.password, "GatehouseTest/1.0 (logged out)");
    const expired: AuthTokens = await logInAs(u.email, u.password, "GatehouseTest/1.0 (expired)");

    const out = await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: loggedOut.refreshToken });
    expect(out.body.data).toEqual({ logout: true });
    await t.deps.db
      .update(sessions)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(sessions.id, sessionIdOf(expired.accessToken)));

    const before = Date.now();
    const res = await t.gql<MySessionsData>(MY_SESSIONS, {}, { token: laptop.accessToken });
    expect(res.body.errors).toBeUndefined();
    const list = res.body.data!.mySessions;

    // The signUp session, laptop and phone; not the logged-out or expired ones, nor the stranger's.
    const expectedIds = [u.accessToken, laptop.accessToken, phone.accessToken].map(sessionIdOf).sort();
    expect(list.map((s) => s.id).sort()).toEqual(expectedIds);
    expect(list.map((s) => s.id)).not.toContain(sessionIdOf(stranger.accessToken));

    expect(list.filter((s) => s.current).map((s) => s.id)).toEqual([sessionIdOf(laptop.accessToken)]);

    const bySid = new Map<string, SessionView>(list.map((s) => [s.id, s]));
    expect(bySid.get(sessionIdOf(laptop.accessToken))!.userAgent).toBe("GatehouseTest/1.0 (laptop)");
    expect(bySid.get(sessionIdOf(phone.accessToken))!.userAgent).toBe("GatehouseTest/1.0 (phone)");

    for (const s of list) {
      expect(s.ip).toBe("127.0.0.1");
      const createdAt = Date.parse(s.createdAt);
      const lastUsedAt = Date.parse(s.lastUsedAt);
      const expiresAt = Date.parse(s.expiresAt);
      expect(Number.isNaN(createdAt)).toBe(false);
      expect(Number.isNaN(lastUsedAt)).toBe(false);
      expect(Math.abs(createdAt - before)).toBeLessThan(60_000);
      expect(lastUsedAt).toBeGreaterThanOrEqual(createdAt);
      // REFRESH_TOKEN_TTL defaults to 30 days.
      expect(Math.abs(expiresAt - (before + 30 * DAY_MS))).toBeLessThan(60_000);
    }

    // Asked from another session, that one is current instead.
    const fromPhone = await t.gql<MySessionsData>(MY_SESSIONS, {}, { token: phone.accessToken });
    expect(fromPhone.body.data!.mySessions.filter((s) => s.current).map((s) => s.id)).toEqual([sessionIdOf(phone.accessToken)]);
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    expectUnauthenticated(await t.gql<MySessionsData>(MY_SESSIONS));
  });
});

describe("revokeSession", () => {
  it("revokes another of the caller's sessions: it leaves mySessions and its tokens stop working", async () => {
    const u: TestUser = await signUp(t);
    const other: AuthTokens = await logIn(t, u.email, u.password);
    const otherSid = sessionIdOf(other.accessToken);

    const res = await t.gql<{ revokeSession: boolean }>(REVOKE_SESSION, { id: otherSid }, { token: u.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ revokeSession: true });

    const list = await t.gql<MySessionsData>(MY_SESSIONS, {}, { token: u.accessToken });
    expect(list.body.data!.mySessions.map((s) => s.id)).toEqual([sessionIdOf(u.accessToken)]);

    expectUnauthenticated(await me(other.accessToken));
    expectUnauthenticated(await refresh(other.refreshToken));
    await expectMeWorks(u.accessToken, u.id);

    const events = await auditRows(t, { action: "user.session_revoked", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: u.id, targetId: u.id, ip: "127.0.0.1", details: { sessionId: otherSid } });
  });

  it("answers BAD_USER_INPUT on field id for a malformed id", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ revokeSession: boolean }>(REVOKE_SESSION, { id: "not-a-session-id" }, { token: u.accessToken });
    const error = onlyError(res);
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.extensions["fields"]).toEqual([{ field: "id", message: expect.any(String) }]);
  });

  it("answers NOT_FOUND for another user's session, which keeps working", async () => {
    const u: TestUser = await signUp(t);
    const victim: TestUser = await signUp(t);
    const victimSid = sessionIdOf(victim.accessToken);

    const res = await t.gql<{ revokeSession: boolean }>(REVOKE_SESSION, { id: victimSid }, { token: u.accessToken });
    expect(onlyError(res).extensions.code).toBe("NOT_FOUND");
    expect(res.body.data ?? null).toBeNull();

    await expectMeWorks(victim.accessToken, victim.id);
    const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, victimSid));
    expect(row!.revokedAt).toBeNull();
    expect(await auditRows(t, { action: "user.session_revoked", targetId: victim.id })).toHaveLength(0);
  });

  it("answers NOT_FOUND for a well-formed id that is no session at all", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ revokeSession: boolean }>(REVOKE_SESSION, { id: randomUUID() }, { token: u.accessToken });
    expect(onlyError(res).extensions.code).toBe("NOT_FOUND");
  });

  it("answers UNAUTHENTICATED without a token and revokes nothing", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ revokeSession: boolean }>(REVOKE_SESSION, { id: sessionIdOf(u.accessToken) });
    expectUnauthenticated(res);
    await expectMeWorks(u.accessToken, u.id);
  });
});
