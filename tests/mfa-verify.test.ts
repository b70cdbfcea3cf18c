import { and, eq, isNull, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, type Viewer } from "../src/auth/authenticate.js";
import { completeSessionWithTotp } from "../src/auth/mfa/mfa-session.js";
import { verifyMfa } from "../src/auth/mfa/mfa.service.js";
import { totpStepAt } from "../src/auth/mfa/totp.js";
import { refreshTokens, sessions, userMfa } from "../src/db/schema.js";
import { AppError } from "../src/errors.js";
import { auditRows } from "./support/audit.js";
import { backend, createTestDatabase, type TestDatabase } from "./support/database.js";
import { expectBadInput } from "./support/flows.js";
import { DEACTIVATE_ME } from "./support/profile.js";
import { codeAt, createTestClock, mfaCalls, ok, type MfaAccount, type Session, type TestClock } from "./support/mfa.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { LOGOUT, REFRESH, sessionIdOf } from "./support/sessions.js";

/*
 * verifyMfa with a TOTP code: the session check, the user_mfa read and ONE statement for every write
 * (src/auth/mfa/mfa-session.ts). What that statement must keep: the step spent exactly when the session
 * is completed, a session ended meanwhile (logout, deactivation) wins, a replay loses.
 */

let testDb: TestDatabase;
let t: TestServer;
let clock: TestClock;
let statements: string[] = [];
beforeAll(async () => {
  clock = createTestClock();
  testDb = await createTestDatabase({ onQuery: (text) => statements.push(text) });
  t = await startTestServer({ testDb, now: () => clock.now(), outboxWorker: false });
});
afterAll(async () => {
  await t?.close();
  await testDb?.drop();
});
const calls = mfaCalls(() => t, () => clock);
// No `user { mfa }`: its loader would add statements of its own.
const VERIFY_ONLY = `mutation ($c: String!) { verifyMfa(code: $c) { accessToken mfaRequired } }`;
const meta = { ip: "203.0.113.9", userAgent: "test", requestId: "mfa-verify-test" };

/** The session row as verifyMfa leaves it. */
async function sessionRow(accessToken: string) {
  const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(accessToken)));
  return row!;
}

/** The unused refresh tokens of the session. */
async function unusedRefreshTokens(accessToken: string): Promise<number> {
  const rows = await t.deps.db
    .select({ hash: refreshTokens.tokenHash })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.sessionId, sessionIdOf(accessToken)), isNull(refreshTokens.usedAt)));
  return rows.length;
}

const lastStepOf = async (userId: string) =>
  (await t.deps.db.select({ step: userMfa.lastTotpStep }).from(userMfa).where(eq(userMfa.userId, userId)))[0]!.step;

/** The viewer of a pending session, read now (as the request's own session check reads it). */
const viewerOf = (session: Session): Promise<Viewer> => authenticate(t.deps, `Bearer ${session.accessToken}`);

/** The UNAUTHENTICATED reason a service call fails with. */
async function unauthenticatedReason(call: Promise<unknown>): Promise<unknown> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("UNAUTHENTICATED");
  return (err as AppError).extensions?.["reason"];
}

describe("verifyMfa with a TOTP code", () => {
  it("sends three statements: the session check, the user_mfa read and one statement for the writes (no transaction)", async () => {
    const account = await calls.mfaAccount("stmt");
    const pending = await calls.pendingLogin(account);
    clock.nextStep();
    const code = codeAt(account.secret, clock);
    statements = [];
    const done = ok(await t.gql<{ verifyMfa: Session }>(VERIFY_ONLY, { c: code }, { token: pending.accessToken }));
    expect(done.verifyMfa.mfaRequired).toBe(false);
    const sent = statements.map((s) => s.trim());
    expect(sent).toHaveLength(3);
    expect(sent[0]).toMatch(/from "sessions" inner join "users"/);
    expect(sent[1]).toMatch(/from "user_mfa"/);
    expect(sent[2]).toMatch(/^with m as materialized/);
    expect(sent.some((s) => /^(begin|commit)/i.test(s))).toBe(false);
    // And it did all the writes: the session complete, the pending refresh token spent, one fresh one, the event.
    expect(await sessionRow(pending.accessToken)).toMatchObject({ mfaPendingUntil: null, amr: ["pwd", "otp"], mfaVerifiedAt: expect.any(Date) });
    expect(await unusedRefreshTokens(pending.accessToken)).toBe(1);
    expect(await lastStepOf(account.id)).toBe(totpStepAt(clock.epoch()));
    const [event] = await auditRows(t, { action: "user.mfa_verified", targetId: account.id });
    expect(event).toMatchObject({ actorId: account.id, ip: expect.any(String), details: { sessionId: sessionIdOf(pending.accessToken), method: "otp" } });
  });

  it("on a complete session (step-up) renews mfa_verified_at, keeps amr as it is, and rotates the refresh token", async () => {
    const account = await calls.mfaAccount("stepup");
    const full = await calls.fullLogin(account);
    await t.deps.db.update(sessions).set({ mfaVerifiedAt: sql`now() - interval '1 hour'` }).where(eq(sessions.id, sessionIdOf(full.accessToken)));
    const before = (await sessionRow(full.accessToken)).mfaVerifiedAt!;
    clock.nextStep();
    const again = ok(await calls.verify(full.accessToken, codeAt(account.secret, clock))).verifyMfa;
    expect(again.mfaRequired).toBe(false);
    const row = await sessionRow(full.accessToken);
    expect(row.amr).toEqual(["pwd", "otp"]);
    expect(row.mfaVerifiedAt!.getTime()).toBeGreaterThan(before.getTime() + 30 * 60 * 1000);
    expect(await unusedRefreshTokens(full.accessToken)).toBe(1);
    ok(await t.gql(REFRESH, { refreshToken: again.refreshToken }));
  });

  it("a wrong code writes nothing but its user.mfa_failed event", async () => {
    const account = await calls.mfaAccount("wrong");
    const pending = await calls.pendingLogin(account);
    clock.nextStep();
    const stepBefore = await lastStepOf(account.id);
    const wrong = codeAt(account.secret, clock) === "000000" ? "000001" : "000000";
    expectBadInput(await calls.verify(pending.accessToken, wrong), "code");
    expect(await lastStepOf(account.id)).toBe(stepBefore);
    expect((await sessionRow(pending.accessToken)).mfaPendingUntil).not.toBeNull();
    expect(await auditRows(t, { action: "user.mfa_failed", targetId: account.id })).toMatchObject([{ details: { purpose: "verify" } }]);
    expect(await auditRows(t, { action: "user.mfa_verified", targetId: account.id })).toHaveLength(0);
  });
});

describe("the statement re-checks what the request's session check saw", () => {
  /** Two pending sessions of a fresh TOTP account, in a fresh step. */
  async function twoPending(prefix: string): Promise<{ account: MfaAccount; first: Session; second: Session; code: string }> {
    const account = await calls.mfaAccount(prefix);
    const first = await calls.pendingLogin(account);
    const second = await calls.pendingLogin(account);
    clock.nextStep();
    return { account, first, second, code: codeAt(account.secret, clock) };
  }

  it("a session logged out after the check: SESSION_REVOKED, and the step stays unspent", async () => {
    const { account, first, second, code } = await twoPending("gone");
    const viewer = await viewerOf(first);
    ok(await t.gql(LOGOUT, { refreshToken: first.refreshToken }));
    expect(await unauthenticatedReason(verifyMfa(t.deps, viewer, code, meta))).toBe("SESSION_REVOKED");
    expect(await auditRows(t, { action: "user.mfa_verified", targetId: account.id })).toHaveLength(0);
    // Nothing was spent: the same code still completes the user's other pending session.
    expect(ok(await calls.verify(second.accessToken, code)).verifyMfa.mfaRequired).toBe(false);
  });

  it("a user deactivated after the check cannot complete: SESSION_REVOKED, nothing written", async () => {
    const { account, first, code } = await twoPending("deact");
    const viewer = await viewerOf(first);
    const stepBefore = await lastStepOf(account.id);
    ok(await t.gql(DEACTIVATE_ME, { confirm: true }, { token: account.session.accessToken }));
    expect(await unauthenticatedReason(verifyMfa(t.deps, viewer, code, meta))).toBe("SESSION_REVOKED");
    expect(await lastStepOf(account.id)).toBe(stepBefore);
    expect((await sessionRow(first.accessToken)).revokedReason).toBe("deactivated");
    expect(await auditRows(t, { action: "user.mfa_verified", targetId: account.id })).toHaveLength(0);
  });

  it("spends the step only under the secret the code was checked against, and only a newer step", async () => {
    const { account, first } = await twoPending("cas");
    const [row] = await t.deps.db.select().from(userMfa).where(eq(userMfa.userId, account.id));
    const step = totpStepAt(clock.epoch());
    const input = { userId: account.id, sessionId: sessionIdOf(first.accessToken), step, ip: null };
    // TOTP set up again (another secret) since the read: nothing is written.
    expect(await completeSessionWithTotp(t.deps.db, { ...input, sealedSecret: `${row!.totpSecret}x` })).toEqual({ outcome: "totp_off" });
    // A step not newer than the last one spent (the enrolling step): refused, nothing written.
    expect(await completeSessionWithTotp(t.deps.db, { ...input, sealedSecret: row!.totpSecret, step: row!.lastTotpStep! })).toEqual({ outcome: "step_spent" });
    // Another user's session: as if it did not exist.
    const other = await calls.mfaAccount("cas-other");
    const otherPending = await calls.pendingLogin(other);
    expect(await completeSessionWithTotp(t.deps.db, { ...input, sessionId: sessionIdOf(otherPending.accessToken), sealedSecret: row!.totpSecret })).toEqual({
      outcome: "session_ended",
    });
    expect(await lastStepOf(account.id)).toBe(row!.lastTotpStep);
    expect((await sessionRow(first.accessToken)).mfaPendingUntil).not.toBeNull();
    expect((await sessionRow(otherPending.accessToken)).mfaPendingUntil).not.toBeNull();
    expect(await unusedRefreshTokens(first.accessToken)).toBe(1);
    // The real thing then goes through once.
    const done = await completeSessionWithTotp(t.deps.db, { ...input, sealedSecret: row!.totpSecret });
    expect(done.outcome).toBe("completed");
    expect(await lastStepOf(account.id)).toBe(step);
  });
});

/*
 * PostgreSQL only: another connection holds a row verifyMfa needs, changes it and commits while
 * verifyMfa waits for the lock. The statement must act on what committed, not on its snapshot.
 */
describe.runIf(backend === "postgres")("verifyMfa against a writer that holds its rows (PostgreSQL)", () => {
  let other: postgres.Sql;
  beforeAll(() => {
    // Two connections: one holds the row, the other watches for the lock wait.
    other = postgres(testDb.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await other?.end();
  });

  /** Resolves once some statement of this database waits for a row lock. */
  async function someoneWaitsForALock(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [row] = await other`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      if (row!["n"] > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("verifyMfa never waited for the lock");
  }

  it("a revocation that commits while verifyMfa waits for the session row wins, and the step stays unspent", async () => {
    const account = await calls.mfaAccount("lock-session");
    const [first, second] = [await calls.pendingLogin(account), await calls.pendingLogin(account)];
    clock.nextStep();
    const code = codeAt(account.secret, clock);
    const holder = await other.reserve();
    try {
      await holder`begin`;
      await holder`select id from sessions where id = ${sessionIdOf(first.accessToken)} for update`;
      const verifying = calls.verify(first.accessToken, code);
      await someoneWaitsForALock();
      await holder`update sessions set revoked_at = now(), revoked_reason = 'logout' where id = ${sessionIdOf(first.accessToken)}`;
      await holder`commit`;
      const res = await verifying;
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "SESSION_REVOKED" });
    } finally {
      holder.release();
    }
    expect(await unusedRefreshTokens(first.accessToken)).toBe(1);
    expect(ok(await calls.verify(second.accessToken, code)).verifyMfa.mfaRequired).toBe(false);
  });

  it("a step spent by a transaction that commits while verifyMfa waits for the user_mfa row is refused as used", async () => {
    const account = await calls.mfaAccount("lock-step");
    const pending = await calls.pendingLogin(account);
    clock.nextStep();
    const code = codeAt(account.secret, clock);
    const step = totpStepAt(clock.epoch());
    const holder = await other.reserve();
    try {
      await holder`begin`;
      await holder`update user_mfa set last_totp_step = ${step} where user_id = ${account.id}`;
      const verifying = calls.verify(pending.accessToken, code);
      await someoneWaitsForALock();
      await holder`commit`;
      const res = await verifying;
      expectBadInput(res, "code");
      expect(res.body.errors?.[0]?.extensions["fields"]).toEqual([{ field: "code", message: expect.stringMatching(/already used/) }]);
    } finally {
      holder.release();
    }
    expect((await sessionRow(pending.accessToken)).mfaPendingUntil).not.toBeNull();
    expect(await unusedRefreshTokens(pending.accessToken)).toBe(1);
    expect(await auditRows(t, { action: "user.mfa_verified", targetId: account.id })).toHaveLength(0);
  });
});
