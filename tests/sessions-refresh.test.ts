import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { expectUnauthenticated, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { backend } from "./support/database.js";
import { startTestServer, type GqlResponse, type TestServer } from "./support/server.js";
import { LOGOUT, LOGOUT_ALL, sessionCalls, sessionIdOf, type RefreshData } from "./support/sessions.js";

let t: TestServer;
beforeAll(async () => {
  // Strict rotation: every repeat is reuse. The grace window of REFRESH_REUSE_INTERVAL has its own file
  // (refresh-reuse.test.ts).
  t = await startTestServer({ env: { REFRESH_REUSE_INTERVAL: "0" } });
});
afterAll(async () => {
  await t?.close();
});

const { me, refresh, expectMeWorks } = sessionCalls(() => t);

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
