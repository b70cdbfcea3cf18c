import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { users } from "../src/db/schema.js";
import { DEACTIVATE_ME, USERS_BY_QUERY, adminChangeCalls, codeOf, outcome, type BulkInput } from "./support/admin-changes.js";
import { auditCount, auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { expectBadInput, signUp, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const { update, bulk, bulkOk, row, activeAdminIds, meCode } = adminChangeCalls(() => t);

describe("concurrency", () => {
  // PGlite runs one transaction at a time, so there the second simply finds its caller demoted, as a
  // sequential test would: only PostgreSQL lets the two race for the admin-invariant lock.
  it.runIf(backend === "postgres")("two admins demoting each other at once: exactly one wins and one active admin remains (PostgreSQL)", async () => {
    for (let round = 0; round < 5; round += 1) {
      await t.reset();
      const a: TestUser = await signUp(t, { role: "ADMIN" });
      const b: TestUser = await signUp(t, { role: "ADMIN" });
      const results = await Promise.all([update(a.accessToken, b.id, { role: "USER" }), update(b.accessToken, a.id, { role: "USER" })]);
      const log = `round ${round}: ${JSON.stringify(results.map((r) => r.body))}`;
      const wins = results.filter((r) => r.body.data?.updateUser?.role === "USER" && !r.body.errors);
      expect(wins, log).toHaveLength(1);
      const loser = results.find((r) => !wins.includes(r))!;
      expect(["FORBIDDEN", "UNAUTHENTICATED"], log).toContain(codeOf(loser));
      const winnerId = results[0] === wins[0] ? a.id : b.id;
      expect(await activeAdminIds(), log).toEqual([winnerId]);
      expect(await auditRows(t, { action: "admin.user_updated" }), log).toHaveLength(1);
    }
  });

  // Means something on PGlite too: there B's request is often authenticated before the bulk commits, so
  // deactivateMe must re-read B under the lock rather than trust that earlier read.
  it("bulk DEACTIVATE of admin B racing B's deactivateMe: B ends inactive and exactly one reports the change", async () => {
    for (let round = 0; round < 5; round += 1) {
      await t.reset();
      const a: TestUser = await signUp(t, { role: "ADMIN" });
      const b: TestUser = await signUp(t, { role: "ADMIN" });
      const [viaBulk, viaSelf] = await Promise.all([
        bulk(a.accessToken, { userIds: [b.id], operation: "DEACTIVATE" }),
        t.gql<{ deactivateMe: boolean }>(DEACTIVATE_ME, {}, { token: b.accessToken }),
      ]);
      const log = `round ${round}: ${JSON.stringify([viaBulk.body, viaSelf.body])}`;
      expect(viaBulk.body.errors, log).toBeUndefined();
      const bulkChanged = viaBulk.body.data!.bulkUsers.succeeded.includes(b.id);
      const selfChanged = viaSelf.body.data?.deactivateMe === true;
      expect(Number(bulkChanged) + Number(selfChanged), log).toBe(1);
      if (!bulkChanged) expect(outcome(viaBulk.body.data!.bulkUsers).failed, log).toEqual([`${b.id}:ALREADY_INACTIVE`]);
      if (!selfChanged) expect(codeOf(viaSelf), log).toBe("UNAUTHENTICATED");
      expect((await row(b.id)).isActive, log).toBe(false);
      expect(await activeAdminIds(), log).toEqual([a.id]);
      const changes = (await auditRows(t, { action: "admin.bulk_user_changed" })).length + (await auditRows(t, { action: "user.deactivated" })).length;
      expect(changes, log).toBe(1);
    }
  });

  // As above: on PGlite the second bulk run finds its caller deactivated; the race is PostgreSQL's.
  it.runIf(backend === "postgres")("two admins bulk-deactivating each other at once: one active admin remains (PostgreSQL)", async () => {
    for (let round = 0; round < 5; round += 1) {
      await t.reset();
      const a: TestUser = await signUp(t, { role: "ADMIN" });
      const b: TestUser = await signUp(t, { role: "ADMIN" });
      const results = await Promise.all([
        bulk(a.accessToken, { userIds: [b.id], operation: "DEACTIVATE" }),
        bulk(b.accessToken, { userIds: [a.id], operation: "DEACTIVATE" }),
      ]);
      const log = `round ${round}: ${JSON.stringify(results.map((r) => r.body))}`;
      const wins = results.filter((r) => (r.body.data?.bulkUsers.succeeded.length ?? 0) === 1);
      expect(wins, log).toHaveLength(1);
      const loser = results.find((r) => !wins.includes(r))!;
      if (loser.body.errors) expect(["FORBIDDEN", "UNAUTHENTICATED"], log).toContain(codeOf(loser));
      else expect(loser.body.data!.bulkUsers.failed.map((f) => f.code), log).toEqual(["LAST_ADMIN"]);
      expect(await activeAdminIds(), log).toEqual([results[0] === wins[0] ? a.id : b.id]);
    }
  });
});

describe("bulkUsers", () => {
  it("applies each operation with a result per id and revokes sessions on DEACTIVATE and DELETE", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const [u1, u2, u3] = [await signUp(t), await signUp(t), await signUp(t)];
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, u3.id));
    const ghost = randomUUID();
    const run = async (input: BulkInput) => outcome(await bulkOk(admin.accessToken, input));

    expect(await run({ userIds: [u1.id, u3.id, ghost], operation: "DEACTIVATE" }))
      .toEqual({ succeeded: [u1.id], failed: [`${ghost}:NOT_FOUND`, `${u3.id}:ALREADY_INACTIVE`].sort() });
    expect(await meCode(u1)).toBe("UNAUTHENTICATED");
    expect(await run({ userIds: [u1.id, u2.id], operation: "ACTIVATE" })).toEqual({ succeeded: [u1.id], failed: [`${u2.id}:ALREADY_ACTIVE`] });
    expect((await row(u1.id)).isActive).toBe(true);

    expect(await run({ userIds: [u2.id, u3.id], operation: "DELETE" })).toEqual({ succeeded: [u2.id, u3.id].sort(), failed: [] });
    expect((await row(u2.id)).deletedAt).toBeInstanceOf(Date);
    expect(await meCode(u2)).toBe("UNAUTHENTICATED");
    const hidden = await t.gql<{ users: { total: number } }>(USERS_BY_QUERY, { q: u2.email }, { token: admin.accessToken });
    expect(hidden.body.data!.users.total).toBe(0);
    const shown = await t.gql<{ users: { total: number } }>(USERS_BY_QUERY, { q: u2.email, d: true }, { token: admin.accessToken });
    expect(shown.body.data!.users.total).toBe(1);
    expect(await run({ userIds: [u2.id], operation: "DELETE" })).toEqual({ succeeded: [], failed: [`${u2.id}:ALREADY_DELETED`] });

    expect(await run({ userIds: [u2.id, u1.id], operation: "RESTORE" })).toEqual({ succeeded: [u2.id], failed: [`${u1.id}:NOT_DELETED`] });
    expect((await row(u2.id)).deletedAt).toBeNull();

    expect(await run({ userIds: [u1.id, u2.id], operation: "UPDATE_ROLE", role: "ADMIN" })).toEqual({ succeeded: [u1.id, u2.id].sort(), failed: [] });
    expect(await run({ userIds: [u1.id], operation: "UPDATE_ROLE", role: "ADMIN" })).toEqual({ succeeded: [], failed: [`${u1.id}:ALREADY_HAS_ROLE`] });
    expect((await row(u2.id)).role).toBe("ADMIN");
    expectBadInput(await bulk(admin.accessToken, { userIds: [u1.id], operation: "UPDATE_ROLE" }), /(^|\.)role$/);
  });

  it("folds duplicates (any case) and counts distinct ids in requested", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const result = await bulkOk(admin.accessToken, { userIds: [u.id, u.id, u.id.toUpperCase()], operation: "DEACTIVATE" });
    expect(result).toMatchObject({ operation: "DEACTIVATE", requested: 1, succeeded: [u.id], failed: [] });
    expect(await auditRows(t, { action: "admin.bulk_user_changed", targetId: u.id })).toHaveLength(1);
  });

  it("refuses the whole request with FORBIDDEN when the caller's own id is anywhere in it", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const before = await auditCount(t);
    for (const own of [admin.id, admin.id.toUpperCase()]) {
      expect(codeOf(await bulk(admin.accessToken, { userIds: [u.id, own], operation: "DEACTIVATE" }))).toBe("FORBIDDEN");
    }
    expect(codeOf(await bulk(admin.accessToken, { userIds: [u.id, admin.id], operation: "ACTIVATE", dryRun: true }))).toBe("FORBIDDEN");
    expect((await row(u.id)).isActive).toBe(true);
    expect(await auditCount(t)).toBe(before);
  });

  it("takes at most 1000 ids and refuses malformed ones with BAD_USER_INPUT", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const unknown: string[] = Array.from({ length: 999 }, () => randomUUID());
    const ok = await bulkOk(admin.accessToken, { userIds: [u.id, ...unknown], operation: "DEACTIVATE" });
    expect(ok.requested).toBe(1000);
    expect(ok.succeeded).toEqual([u.id]);
    expect(ok.failed).toHaveLength(999);
    expect(new Set(ok.failed.map((f) => f.code))).toEqual(new Set(["NOT_FOUND"]));
    expect(ok.failed.map((f) => f.id).sort()).toEqual([...unknown].sort());
    expectBadInput(await bulk(admin.accessToken, { userIds: [u.id, ...unknown, randomUUID()], operation: "ACTIVATE" }), /(^|\.)userIds$/);
    expectBadInput(await bulk(admin.accessToken, { userIds: [u.id, "not-a-uuid"], operation: "ACTIVATE" }), /(^|\.)userIds(\.\d+)?$/);
    expect((await row(u.id)).isActive).toBe(false);
  });

  it("dryRun reports exactly what the real run then does and changes nothing", async () => {
    const admin: TestUser = await signUp(t, { role: "ADMIN" });
    const [u1, u2, u3] = [await signUp(t), await signUp(t), await signUp(t)];
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, u2.id));
    const ids = [u1.id, u2.id, u3.id, randomUUID()];
    const snapshotRows = () => t.deps.db.select().from(users).where(inArray(users.id, ids)).orderBy(users.id);
    const rowsBefore = await snapshotRows();
    const auditBefore = await auditCount(t);

    const dry = await bulkOk(admin.accessToken, { userIds: ids, operation: "DEACTIVATE", dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, bulkId: null, requested: 4 });
    expect(await snapshotRows()).toEqual(rowsBefore);
    expect(await auditCount(t)).toBe(auditBefore);
    expect(await meCode(u1)).toBeUndefined();

    const real = await bulkOk(admin.accessToken, { userIds: ids, operation: "DEACTIVATE" });
    expect(real.dryRun).toBe(false);
    expect(real.bulkId).toEqual(expect.any(String));
    expect({ requested: real.requested, succeeded: real.succeeded, failed: real.failed })
      .toEqual({ requested: dry.requested, succeeded: dry.succeeded, failed: dry.failed });
    expect(outcome(real)).toEqual({ succeeded: [u1.id, u3.id].sort(), failed: [`${ids[3]}:NOT_FOUND`, `${u2.id}:ALREADY_INACTIVE`].sort() });
  });

  it("deactivates other admins while the caller remains, and audits one admin.bulk plus one event per change", async () => {
    await t.reset();
    const a: TestUser = await signUp(t, { role: "ADMIN" });
    const b: TestUser = await signUp(t, { role: "ADMIN" });
    const c: TestUser = await signUp(t, { role: "ADMIN" });
    const u: TestUser = await signUp(t);
    const ids = [b.id, c.id, u.id];
    const result = await bulkOk(a.accessToken, { userIds: ids, operation: "DEACTIVATE" });
    expect(outcome(result)).toEqual({ succeeded: [...ids].sort(), failed: [] });
    expect(await activeAdminIds()).toEqual([a.id]);
    expect(await meCode(b)).toBe("UNAUTHENTICATED");

    const runs = await auditRows(t, { action: "admin.bulk" });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ actorId: a.id, details: { bulkId: result.bulkId, operation: "DEACTIVATE" } });
    expect([...((runs[0]!.details as { ids: string[] }).ids)].sort()).toEqual([...ids].sort());
    const changed = await auditRows(t, { action: "admin.bulk_user_changed" });
    expect(changed.map((e) => e.targetId).sort()).toEqual([...ids].sort());
    for (const e of changed) expect(e).toMatchObject({ actorId: a.id, details: { bulkId: result.bulkId, operation: "DEACTIVATE" } });
  });
});
