import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { sessions, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { expectUnauthenticated, expectBadInput, logIn, onlyError, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { DEACTIVATE_ME, REFRESH, profileCalls } from "./support/profile.js";
import { startTestServer, type TestServer } from "./support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const { me, meOf, tryLogIn, activeAdminIds, deactivateMe } = profileCalls(() => t);

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
