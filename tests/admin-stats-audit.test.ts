import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { desc } from "drizzle-orm";
import { auditEvents, users } from "../src/db/schema.js";
import { auditCount } from "./support/audit.js";
import { expectBadInput, onlyError, signUp, type TestUser } from "./support/flows.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

const STATS = /* GraphQL */ `
  query Stats {
    userStats {
      total active inactive deleted verified unverified byRole { role count }
      activeLast24h activeLast7d activeLast30d newLast7d newLast30d
    }
  }
`;
const REGISTRATIONS = /* GraphQL */ `
  query Registrations($days: Int) { userStats { registrations(days: $days) { date count } } }
`;
const REGISTRATIONS_DEFAULT = /* GraphQL */ `query { userStats { registrations { date count } } }`;
const AUDIT_LOG = /* GraphQL */ `
  query Audit($filter: AuditFilter, $page: Int, $size: Int) {
    auditLog(filter: $filter, page: $page, size: $size) {
      total page size pages items { id at action actorId targetId ip details }
    }
  }
`;

type Role = "USER" | "ADMIN";
interface Stats {
  total: number; active: number; inactive: number; deleted: number; verified: number; unverified: number;
  byRole: Array<{ role: Role; count: number }>;
  activeLast24h: number; activeLast7d: number; activeLast30d: number; newLast7d: number; newLast30d: number;
}
interface DailyCount { date: string; count: number }
interface AuditItem {
  id: string;
  at: string;
  action: string;
  actorId: string | null;
  targetId: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}
interface AuditPage { total: number; page: number; size: number; pages: number; items: AuditItem[] }
interface AuditFilter { actorId?: string; targetId?: string; action?: string; after?: string; before?: string }

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

describe("userStats", () => {
  interface Seed { created: number; login: number | null; active: boolean; verified: boolean; deleted: boolean; role: Role }
  // Offsets in ms before now. The admin who asks (signed up just now) is counted too:
  // created now, logged in now, active, unverified, ADMIN.
  const seeds: Seed[] = [
    { created: 1 * HOUR, login: 2 * HOUR, active: true, verified: true, deleted: false, role: "USER" },
    { created: 3 * DAY, login: 3 * DAY, active: true, verified: true, deleted: false, role: "USER" },
    { created: 10 * DAY, login: 20 * DAY, active: false, verified: false, deleted: false, role: "USER" },
    { created: 40 * DAY, login: 40 * DAY, active: true, verified: true, deleted: false, role: "ADMIN" },
    { created: 2 * DAY, login: null, active: false, verified: true, deleted: false, role: "USER" },
    { created: 1 * HOUR, login: 1 * HOUR, active: true, verified: true, deleted: true, role: "ADMIN" },
    { created: 5 * DAY, login: null, active: false, verified: false, deleted: true, role: "USER" },
    { created: 25 * HOUR, login: 26 * HOUR, active: true, verified: false, deleted: true, role: "USER" },
  ];
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    await t.reset();
    admin = await signUp(t, { role: "ADMIN" });
    const now = Date.now();
    await t.deps.db.insert(users).values(
      seeds.map((s) => ({
        email: uniqueEmail("stats"),
        fullName: "Seeded User",
        passwordHash: "not-a-real-hash",
        role: s.role,
        isActive: s.active,
        emailVerified: s.verified,
        createdAt: new Date(now - s.created),
        updatedAt: new Date(now - s.created),
        lastLoginAt: s.login === null ? null : new Date(now - s.login),
        deletedAt: s.deleted ? new Date(now - HOUR) : null,
      })),
    );
    // Registered last: a plain user for the FORBIDDEN case. It is counted below as well.
    user = await signUp(t);
  });

  async function stats(): Promise<Stats> {
    const res = await t.gql<{ userStats: Stats }>(STATS, {}, { token: admin.accessToken });
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    return res.body.data!.userStats;
  }

  async function registrations(days: number | undefined): Promise<DailyCount[]> {
    const res = days === undefined
      ? await t.gql<{ userStats: { registrations: DailyCount[] } }>(REGISTRATIONS_DEFAULT, {}, { token: admin.accessToken })
      : await t.gql<{ userStats: { registrations: DailyCount[] } }>(REGISTRATIONS, { days }, { token: admin.accessToken });
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    return res.body.data!.userStats.registrations;
  }

  /** Expected registrations: every non-deleted user by the UTC day of createdAt, zeros included. */
  async function expectedRegistrations(days: number): Promise<DailyCount[]> {
    const rows = await t.deps.db.select().from(users);
    const today = Date.parse(`${utcDay(new Date())}T00:00:00.000Z`);
    return Array.from({ length: days }, (_, i) => {
      const date = utcDay(new Date(today - (days - 1 - i) * DAY));
      return { date, count: rows.filter((r) => r.deletedAt === null && utcDay(r.createdAt) === date).length };
    });
  }

  it("counts every field exactly, deleted users only in `deleted`", async () => {
    // Not deleted: the admin, the plain user (both just now, logged in now, active, unverified) and seeds 0-4.
    const s = await stats();
    expect({ ...s, byRole: [...s.byRole].sort((a, b) => a.role.localeCompare(b.role)) }).toEqual({
      total: 7,
      active: 5, // admin, user, seeds 0, 1, 3
      inactive: 2, // seeds 2, 4
      deleted: 3,
      verified: 4, // seeds 0, 1, 3, 4
      unverified: 3, // admin, user, seed 2
      byRole: [{ role: "ADMIN", count: 2 }, { role: "USER", count: 5 }],
      activeLast24h: 3, // admin, user, seed 0
      activeLast7d: 4, // + seed 1
      activeLast30d: 5, // + seed 2 (inactive accounts that logged in still count)
      newLast7d: 5, // admin, user, seeds 0, 4, 1
      newLast30d: 6, // + seed 2
    });
  });

  it("reports registrations per UTC day for the last 7 days, zeros included", async () => {
    const week = await registrations(7);
    expect(week).toHaveLength(7);
    expect(week.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.date))).toBe(true);
    expect(week.at(-1)!.date).toBe(utcDay(new Date()));
    for (let i = 1; i < week.length; i += 1) {
      expect(Date.parse(`${week[i]!.date}T00:00:00Z`) - Date.parse(`${week[i - 1]!.date}T00:00:00Z`)).toBe(DAY);
    }
    expect(week).toEqual(await expectedRegistrations(7));
    // admin, user, seeds 0, 4 (2 days), 1 (3 days); the deleted seed of 5 days ago is not counted.
    expect(week.reduce((n, d) => n + d.count, 0)).toBe(5);
    expect(week.filter((d) => d.count === 0).length).toBeGreaterThanOrEqual(3);
  });

  it("defaults to 30 days and accepts 1 and 365", async () => {
    const month = await registrations(undefined);
    expect(month).toHaveLength(30);
    expect(month).toEqual(await expectedRegistrations(30));
    expect(month.reduce((n, d) => n + d.count, 0)).toBe(6); // + seed 2 (10 days ago); not seed 3 (40)
    expect(await registrations(1)).toEqual(await expectedRegistrations(1));
    const year = await registrations(365);
    expect(year).toHaveLength(365);
    expect(year.reduce((n, d) => n + d.count, 0)).toBe(7);
  });

  it("refuses days 0 and 366 with BAD_USER_INPUT on days", async () => {
    for (const days of [0, 366, -1]) {
      expectBadInput(await t.gql(REGISTRATIONS, { days }, { token: admin.accessToken }), /(^|\.)days$/);
    }
  });

  it("refuses a USER with FORBIDDEN and no token with UNAUTHENTICATED", async () => {
    const res = await t.gql(STATS, {}, { token: user.accessToken });
    expect(onlyError(res).extensions.code).toBe("FORBIDDEN");
    expect(res.body.data ?? null).toBeNull();
    expect(onlyError(await t.gql(STATS)).extensions.code).toBe("UNAUTHENTICATED");
  });
});

describe("auditLog", () => {
  const actorX = randomUUID();
  const actorW = randomUUID();
  const targetY = randomUUID();
  const targetZ = randomUUID();
  // Fixture events, oldest first, all long before the real ones written by signUp.
  const fixtures = [
    { at: "2021-01-01T00:00:00.000Z", action: "test.alpha", actorId: actorX, targetId: targetY, details: { n: 1, nested: { list: [1, "two", null] } } },
    { at: "2021-01-02T00:00:00.000Z", action: "test.beta", actorId: actorX, targetId: targetZ, details: { n: 2 } },
    { at: "2021-01-03T00:00:00.000Z", action: "test.alpha", actorId: actorW, targetId: targetY, details: { n: 3 } },
    { at: "2021-01-04T00:00:00.000Z", action: "test.alpha", actorId: actorX, targetId: null, details: null },
    { at: "2021-01-05T00:00:00.000Z", action: "test.gamma", actorId: null, targetId: targetY, details: { n: 5 } },
  ];
  let ids: string[] = []; // fixture ids, in the order above
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    await t.reset();
    admin = await signUp(t, { role: "ADMIN" });
    user = await signUp(t);
    const inserted = await t.deps.db
      .insert(auditEvents)
      .values(fixtures.map((f) => ({ ...f, at: new Date(f.at), ip: "203.0.113.7" })))
      .returning({ id: auditEvents.id, at: auditEvents.at });
    ids = [...inserted].sort((a, b) => a.at.getTime() - b.at.getTime()).map((r) => r.id);
  });

  async function audit(filter: AuditFilter | undefined, page?: number, size?: number): Promise<AuditPage> {
    const res = await t.gql<{ auditLog: AuditPage }>(AUDIT_LOG, { filter, page, size }, { token: admin.accessToken });
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    return res.body.data!.auditLog;
  }
  /** Fixture ids by their index in `fixtures`. */
  const fx = (...indexes: number[]): string[] => indexes.map((i) => ids[i]!);

  it("lists every event newest first, with default page 1 and size 50", async () => {
    const all = await t.deps.db.select({ id: auditEvents.id }).from(auditEvents).orderBy(desc(auditEvents.at), desc(auditEvents.id));
    const page = await audit(undefined);
    expect(page).toMatchObject({ total: all.length, page: 1, size: 50, pages: 1 });
    expect(page.items.map((e) => e.id)).toEqual(all.map((r) => r.id));
    expect(page.items.slice(-5).map((e) => e.id)).toEqual(fx(4, 3, 2, 1, 0));
    for (let i = 1; i < page.items.length; i += 1) {
      expect(Date.parse(page.items[i - 1]!.at)).toBeGreaterThanOrEqual(Date.parse(page.items[i]!.at));
    }
    const real = page.items.filter((e) => e.action === "user.registered").map((e) => e.targetId).sort();
    expect(real).toEqual([admin.id, user.id].sort());
  });

  it("returns each field, details as a JSON object", async () => {
    const page = await audit({ targetId: targetY, action: "test.alpha", before: "2021-01-02T00:00:00.000Z" });
    expect(page.items).toEqual([
      {
        id: ids[0],
        at: "2021-01-01T00:00:00.000Z",
        action: "test.alpha",
        actorId: actorX,
        targetId: targetY,
        ip: "203.0.113.7",
        details: { n: 1, nested: { list: [1, "two", null] } },
      },
    ]);
    expect((await audit({ action: "test.alpha", actorId: actorX, after: "2021-01-03T12:00:00.000Z" })).items[0]!.details).toBeNull();
  });

  it("filters by actorId, targetId and action (exact sets, newest first)", async () => {
    expect((await audit({ actorId: actorX })).items.map((e) => e.id)).toEqual(fx(3, 1, 0));
    expect((await audit({ targetId: targetY })).items.map((e) => e.id)).toEqual(fx(4, 2, 0));
    expect((await audit({ action: "test.alpha" })).items.map((e) => e.id)).toEqual(fx(3, 2, 0));
    expect((await audit({ actorId: actorX, action: "test.alpha" })).items.map((e) => e.id)).toEqual(fx(3, 0));
    expect((await audit({ actorId: admin.id, action: "user.registered" })).items.map((e) => e.targetId)).toEqual([admin.id]);
    const none = await audit({ actorId: randomUUID() });
    expect(none).toEqual({ total: 0, page: 1, size: 50, pages: 0, items: [] });
  });

  it("filters by time with after and before", async () => {
    const ids2 = async (f: AuditFilter): Promise<string[]> => (await audit(f)).items.map((e) => e.id);
    expect(await ids2({ before: "2021-01-03T12:00:00.000Z" })).toEqual(fx(2, 1, 0));
    expect(await ids2({ after: "2021-01-02T12:00:00.000Z", before: "2021-01-04T12:00:00.000Z" })).toEqual(fx(3, 2));
    expect(await ids2({ after: "2021-01-03T12:00:00.000Z", before: "2022-01-01T00:00:00.000Z" })).toEqual(fx(4, 3));
    const recent = await audit({ after: "2022-01-01T00:00:00.000Z" });
    const realCount = (await auditCount(t)) - fixtures.length;
    expect(recent.total).toBe(realCount);
    expect(recent.items.some((e) => ids.includes(e.id))).toBe(false);
    expect(await ids2({ actorId: actorX, after: "2021-01-01T12:00:00.000Z", before: "2021-01-04T12:00:00.000Z" })).toEqual(fx(3, 1));
  });

  it("pages with exact total and pages", async () => {
    expect(await audit({ action: "test.alpha" }, 1, 2)).toMatchObject({ total: 3, page: 1, size: 2, pages: 2 });
    expect((await audit({ action: "test.alpha" }, 1, 2)).items.map((e) => e.id)).toEqual(fx(3, 2));
    expect((await audit({ action: "test.alpha" }, 2, 2)).items.map((e) => e.id)).toEqual(fx(0));
    expect(await audit({ action: "test.alpha" }, 3, 2)).toEqual({ total: 3, page: 3, size: 2, pages: 2, items: [] });
    expect(await audit({ action: "test.alpha" }, 1, 1)).toMatchObject({ total: 3, pages: 3 });
    const big = await audit({ action: "test.alpha" }, 1, 100);
    expect(big).toMatchObject({ total: 3, size: 100, pages: 1 });
  });

  it("refuses size 0 or 101, page 0 and malformed ids with BAD_USER_INPUT on that field", async () => {
    const ask = (filter: AuditFilter | undefined, page?: number, size?: number) =>
      t.gql(AUDIT_LOG, { filter, page, size }, { token: admin.accessToken });
    expectBadInput(await ask(undefined, 1, 0), /(^|\.)size$/);
    expectBadInput(await ask(undefined, 1, 101), /(^|\.)size$/);
    expectBadInput(await ask(undefined, 0, 10), /(^|\.)page$/);
    expectBadInput(await ask({ actorId: "not-a-uuid" }), /(^|\.)actorId$/);
    expectBadInput(await ask({ targetId: "12345" }), /(^|\.)targetId$/);
  });

  it("refuses a USER with FORBIDDEN and no token with UNAUTHENTICATED", async () => {
    const res = await t.gql(AUDIT_LOG, {}, { token: user.accessToken });
    expect(onlyError(res).extensions.code).toBe("FORBIDDEN");
    expect(res.body.data ?? null).toBeNull();
    expect(onlyError(await t.gql(AUDIT_LOG, {})).extensions.code).toBe("UNAUTHENTICATED");
  });
});
