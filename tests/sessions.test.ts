import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { expectUnauthenticated, LOGIN, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { backend } from "./support/database.js";
import { startTestServer, type GqlResponse, type TestServer } from "./support/server.js";

const ME = /* GraphQL */ `
  query Me {
    me { id email }
  }
`;

const REFRESH = /* GraphQL */ `
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken tokenType expiresIn user { id email } }
  }
`;

const LOGOUT = /* GraphQL */ `
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`;

const LOGOUT_ALL = /* GraphQL */ `
  mutation LogoutAll {
    logoutAll
  }
`;

const MY_SESSIONS = /* GraphQL */ `
  query MySessions {
    mySessions { id createdAt lastUsedAt expiresAt ip userAgent current }
  }
`;

const REVOKE_SESSION = /* GraphQL */ `
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`;

interface MeData {
  me: { id: string; email: string };
}

interface RefreshData {
  refreshToken: AuthTokens & { tokenType: string; expiresIn: number; user: { id: string; email: string } };
}

interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

interface MySessionsData {
  mySessions: SessionView[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** The session id (`sid` claim) an access token carries. */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split(".")[1];
  if (!payload) throw new Error(`not a JWT: ${accessToken}`);
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sid?: unknown };
  if (typeof claims.sid !== "string") throw new Error("access token has no sid claim");
  return claims.sid;
}

function me(token: string): Promise<GqlResponse<MeData>> {
  return t.gql<MeData>(ME, {}, { token });
}

function refresh(refreshToken: string): Promise<GqlResponse<RefreshData>> {
  return t.gql<RefreshData>(REFRESH, { refreshToken });
}

async function expectMeWorks(token: string, userId: string): Promise<void> {
  const res = await me(token);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.me.id).toBe(userId);
}

describe("refreshToken", () => {
  it("returns a new pair for the same session, and the new access token works", async () => {
    const u: TestUser = await signUp(t);
    const res = await refresh(u.refreshToken);
    expect(res.body.errors).toBeUndefined();
    const next = res.body.data!.refreshToken;
    expect(next.accessToken).not.toBe(u.accessToken);
    expect(next.refreshToken).not.toBe(u.refreshToken);
    expect(next.tokenType).toBe("Bearer");
    expect(next.expiresIn).toBe(t.config.jwt.accessTtl);
    expect(next.user).toEqual({ id: u.id, email: u.email });
    // Rotation continues the session (the refresh-token family); it does not open a new one.
    expect(sessionIdOf(next.accessToken)).toBe(sessionIdOf(u.accessToken));
    await expectMeWorks(next.accessToken, u.id);
    // And the rotated token can itself be rotated once.
    const again = await refresh(next.refreshToken);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data!.refreshToken.refreshToken).not.toBe(next.refreshToken);
  });

  it("treats a used refresh token as stolen: UNAUTHENTICATED and the whole family is revoked", async () => {
    const u: TestUser = await signUp(t);
    const other: AuthTokens = await logIn(t, u.email, u.password);
    const sid = sessionIdOf(u.accessToken);

    const first = await refresh(u.refreshToken);
    expect(first.body.errors).toBeUndefined();
    const second = await refresh(first.body.data!.refreshToken.refreshToken);
    expect(second.body.errors).toBeUndefined();
    const newest = second.body.data!.refreshToken;
    await expectMeWorks(newest.accessToken, u.id);

    // The original token, already rotated away, comes back.
    expectUnauthenticated(await refresh(u.refreshToken));

    // Every token of that family is now dead: the newest refresh token and every access token.
    expectUnauthenticated(await refresh(newest.refreshToken));
    expectUnauthenticated(await me(newest.accessToken));
    expectUnauthenticated(await me(u.accessToken));

    const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sid));
    expect(row!.revokedAt).toBeInstanceOf(Date);
    expect(row!.revokedReason).toBe("refresh_token_reuse");

    // Only that family: the user's other session is untouched.
    await expectMeWorks(other.accessToken, u.id);
    const otherRefresh = await refresh(other.refreshToken);
    expect(otherRefresh.body.errors).toBeUndefined();

    const events = await auditRows(t, { action: "user.refresh_token_reused", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: null, targetId: u.id, ip: "127.0.0.1", details: { sessionId: sid } });
  });

  it("answers UNAUTHENTICATED for a refresh token it never issued", async () => {
    const res = await refresh(randomBytes(32).toString("base64url"));
    expectUnauthenticated(res);
  });

  it("answers BAD_USER_INPUT on field refreshToken for an empty string", async () => {
    const res = await refresh("");
    const error = onlyError(res);
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.extensions["fields"]).toEqual([{ field: "refreshToken", message: expect.any(String) }]);
  });

  // PGlite runs one statement at a time, so there the six cannot race: the test means something on PostgreSQL.
  it.runIf(backend === "postgres")("lets exactly one of 6 parallel refreshes with one token through; the rest are UNAUTHENTICATED (PostgreSQL)", async () => {
    const u: TestUser = await signUp(t);
    const results: Array<GqlResponse<RefreshData>> = await Promise.all(
      Array.from({ length: 6 }, () => refresh(u.refreshToken)),
    );
    const succeeded = results.filter((r) => r.body.data?.refreshToken && !r.body.errors);
    const failed = results.filter((r) => r.body.errors && r.body.errors.length > 0);
    expect(succeeded).toHaveLength(1);
    expect(succeeded.length + failed.length).toBe(6);
    for (const r of failed) {
      expect(onlyError(r).extensions.code).toBe("UNAUTHENTICATED");
      expect(r.body.data ?? null).toBeNull();
    }
  });

  it("refuses to refresh the session of a user deactivated in the meantime", async () => {
    const u: TestUser = await signUp(t);
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, u.id));
    expectUnauthenticated(await refresh(u.refreshToken));
    expectUnauthenticated(await me(u.accessToken));
  });

  it("refuses to refresh an expired session", async () => {
    const u: TestUser = await signUp(t);
    await t.deps.db
      .update(sessions)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(sessions.id, sessionIdOf(u.accessToken)));
    expectUnauthenticated(await refresh(u.refreshToken));
  });

  it("refuses to refresh the session of a soft-deleted user", async () => {
    const u: TestUser = await signUp(t);
    await t.deps.db.update(users).set({ deletedAt: sql`now()` }).where(eq(users.id, u.id));
    expectUnauthenticated(await refresh(u.refreshToken));
  });
});

describe("logout", () => {
  it("ends the session of the refresh token and nothing else", async () => {
    const u: TestUser = await signUp(t);
    const other: AuthTokens = await logIn(t, u.email, u.password);

    const res = await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: u.refreshToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ logout: true });

    expectUnauthenticated(await me(u.accessToken));
    expectUnauthenticated(await refresh(u.refreshToken));

    // The user's other session keeps working, both tokens.
    await expectMeWorks(other.accessToken, u.id);
    const otherRefresh = await refresh(other.refreshToken);
    expect(otherRefresh.body.errors).toBeUndefined();
    await expectMeWorks(otherRefresh.body.data!.refreshToken.accessToken, u.id);

    const events = await auditRows(t, { action: "user.logout", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: u.id, targetId: u.id, ip: "127.0.0.1", details: { sessionId: sessionIdOf(u.accessToken) } });
  });

  it("answers UNAUTHENTICATED for an unknown refresh token", async () => {
    const res = await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: randomBytes(32).toString("base64url") });
    expectUnauthenticated(res);
  });
});

describe("logoutAll", () => {
  it("ends every session of the caller and only the caller's", async () => {
    const u: TestUser = await signUp(t);
    const second: AuthTokens = await logIn(t, u.email, u.password);
    const bystander: TestUser = await signUp(t);

    const res = await t.gql<{ logoutAll: boolean }>(LOGOUT_ALL, {}, { token: u.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ logoutAll: true });

    expectUnauthenticated(await me(u.accessToken));
    expectUnauthenticated(await me(second.accessToken));
    expectUnauthenticated(await refresh(second.refreshToken));
    expectUnauthenticated(await refresh(u.refreshToken));

    await expectMeWorks(bystander.accessToken, bystander.id);

    const events = await auditRows(t, { action: "user.logout_all", targetId: u.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: u.id, targetId: u.id, ip: "127.0.0.1", details: { sessions: 2 } });
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    expectUnauthenticated(await t.gql<{ logoutAll: boolean }>(LOGOUT_ALL));
  });
});

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
