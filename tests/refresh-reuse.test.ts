import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { refreshTokens, sessions } from "../src/db/schema.js";
import { hashToken } from "../src/lib/opaque-token.js";
import { auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { expectUnauthenticated, signUp, type TestUser } from "./support/flows.js";
import { startTestServer, type GqlResponse, type TestServer } from "./support/server.js";
import { LOGOUT, sessionCalls, sessionIdOf, type RefreshData } from "./support/sessions.js";

/*
 * REFRESH_REUSE_INTERVAL (API.md §6): a refresh token presented again within the interval of its first
 * use gets a fresh pair in the same session; after it, a reuse revokes the session. The window here is
 * 5 minutes so that a slow machine never leaves it by accident; "after the window" moves the token's
 * recorded first use back instead of waiting.
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { REFRESH_REUSE_INTERVAL: "5m" } });
});
afterAll(async () => {
  await t?.close();
});

const { me, refresh, expectMeWorks } = sessionCalls(() => t);

const usedAtOf = async (token: string): Promise<Date | null> => {
  const [row] = await t.deps.db.select({ usedAt: refreshTokens.usedAt }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(token)));
  return row!.usedAt;
};

/** Pretends the token's first use was `seconds` ago. */
const ageFirstUse = (token: string, seconds: number) =>
  t.deps.db
    .update(refreshTokens)
    .set({ usedAt: sql`now() - make_interval(secs => ${seconds})` })
    .where(eq(refreshTokens.tokenHash, hashToken(token)));

const sessionRow = async (accessToken: string) => {
  const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(accessToken)));
  return row!;
};

const pairOf = (res: GqlResponse<RefreshData>) => {
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.refreshToken;
};

describe("REFRESH_REUSE_INTERVAL", () => {
  it("gives a token presented again within the window a fresh pair in the same session; both pairs work", async () => {
    const u: TestUser = await signUp(t);
    const first = pairOf(await refresh(u.refreshToken));
    const firstUse = await usedAtOf(u.refreshToken);
    expect(firstUse).toBeInstanceOf(Date);

    const second = pairOf(await refresh(u.refreshToken));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(sessionIdOf(second.accessToken)).toBe(sessionIdOf(u.accessToken));
    expect(sessionIdOf(first.accessToken)).toBe(sessionIdOf(u.accessToken));
    // The repeat does not move the first use: presenting a token again and again cannot stretch the window.
    expect((await usedAtOf(u.refreshToken))!.getTime()).toBe(firstUse!.getTime());

    await expectMeWorks(first.accessToken, u.id);
    await expectMeWorks(second.accessToken, u.id);
    expect((await sessionRow(u.accessToken)).revokedAt).toBeNull();
    // Each tab goes on with its own successor.
    pairOf(await refresh(first.refreshToken));
    pairOf(await refresh(second.refreshToken));
    expect(await auditRows(t, { action: "user.refresh_token_reused", targetId: u.id })).toHaveLength(0);
  });

  it("revokes the session when the token comes back after the window, repeats within it included", async () => {
    const u: TestUser = await signUp(t);
    const first = pairOf(await refresh(u.refreshToken));
    const repeat = pairOf(await refresh(u.refreshToken));
    await ageFirstUse(u.refreshToken, 5 * 60 + 1);

    expectUnauthenticated(await refresh(u.refreshToken));
    const row = await sessionRow(u.accessToken);
    expect(row.revokedAt).toBeInstanceOf(Date);
    expect(row.revokedReason).toBe("refresh_token_reuse");
    // Every branch of the family is dead.
    expectUnauthenticated(await refresh(first.refreshToken));
    expectUnauthenticated(await refresh(repeat.refreshToken));
    expectUnauthenticated(await me(first.accessToken));
    expect(await auditRows(t, { action: "user.refresh_token_reused", targetId: u.id })).toHaveLength(1);
  });

  it("treats a token whose successor was already used as a replay, even within the window", async () => {
    const u: TestUser = await signUp(t);
    const next = pairOf(await refresh(u.refreshToken));
    const newest = pairOf(await refresh(next.refreshToken));

    // The family moved on two generations: this copy of the first token is not a tab racing its twin.
    expectUnauthenticated(await refresh(u.refreshToken));
    expect((await sessionRow(u.accessToken)).revokedReason).toBe("refresh_token_reuse");
    expectUnauthenticated(await refresh(newest.refreshToken));
    expectUnauthenticated(await me(newest.accessToken));
  });

  it("never brings back a session that was logged out in between", async () => {
    const u: TestUser = await signUp(t);
    const next = pairOf(await refresh(u.refreshToken));
    const out = await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: next.refreshToken });
    expect(out.body.data).toEqual({ logout: true });

    // Within the window of its first use, but the session is over.
    expectUnauthenticated(await refresh(u.refreshToken));
    const row = await sessionRow(u.accessToken);
    expect(row.revokedReason).toBe("logout");
    const [{ count }] = (await t.deps.db
      .select({ count: sql<number>`count(*)::int` })
      .from(refreshTokens)
      .where(eq(refreshTokens.sessionId, row.id))) as [{ count: number }];
    // Only the login's token and its successor: the refused repeat issued nothing.
    expect(count).toBe(2);
  });

  it("lets logout end the session with a token another tab refreshed a moment ago", async () => {
    const u: TestUser = await signUp(t);
    const other = pairOf(await refresh(u.refreshToken));
    const out = await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: u.refreshToken });
    expect(out.body.errors).toBeUndefined();
    expect(out.body.data).toEqual({ logout: true });
    expect((await sessionRow(u.accessToken)).revokedReason).toBe("logout");
    expectUnauthenticated(await refresh(other.refreshToken));
  });

  // PGlite runs one statement at a time, so there the presentations cannot race.
  const concurrent = "lets 6 simultaneous presentations of one token all through, in one session; after the window a seventh revokes (PostgreSQL)";
  it.runIf(backend === "postgres")(concurrent, async () => {
    const u: TestUser = await signUp(t);
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(u.refreshToken)));
    const pairs = results.map(pairOf);
    expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(6);
    for (const p of pairs) expect(sessionIdOf(p.accessToken)).toBe(sessionIdOf(u.accessToken));
    await expectMeWorks(pairs[5]!.accessToken, u.id);
    expect((await sessionRow(u.accessToken)).revokedAt).toBeNull();

    await ageFirstUse(u.refreshToken, 5 * 60 + 1);
    expectUnauthenticated(await refresh(u.refreshToken));
    expect((await sessionRow(u.accessToken)).revokedReason).toBe("refresh_token_reuse");
    for (const p of pairs) expectUnauthenticated(await refresh(p.refreshToken));
  });
});

describe("REFRESH_REUSE_INTERVAL=0", () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startTestServer({ env: { REFRESH_REUSE_INTERVAL: "0" } });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it("turns the window off: the first repeat revokes the session", async () => {
    const calls = sessionCalls(() => strict);
    const u: TestUser = await signUp(strict);
    expect((await calls.refresh(u.refreshToken)).body.errors).toBeUndefined();
    expectUnauthenticated(await calls.refresh(u.refreshToken));
    const [row] = await strict.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(u.accessToken)));
    expect(row!.revokedReason).toBe("refresh_token_reuse");
  });
});
