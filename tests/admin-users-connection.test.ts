import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { users } from "../src/db/schema.js";
import { at, expectedIdsIn, SORTS, seedDirectory, type Filter, type Order, type Seeded, type SortField } from "./support/admin-users.js";
import { expectBadInput, onlyError, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { flags, ids, relayCalls, type RelayVars as Vars } from "./support/users-connection.js";

/*
 * usersConnection as the Relay Cursor Connections spec has it: first/after forward, last/before backward,
 * and pageInfo's four fields, checked against the JS oracle of the seeded directory (ties on created_at,
 * on lower(full_name) with "DANA SCOTT" / "dana scott", on last login and on role).
 */

let t: TestServer;
let admin: TestUser;
let all: Seeded[] = [];

beforeAll(async () => {
  // No outbox worker: its polling would add reads of its own to the probe test's count.
  t = await startTestServer({ outboxWorker: false });
  ({ admin, all } = await seedDirectory(t));
});
afterAll(async () => {
  await t?.close();
});

const { call, conn, walkForward, walkBackward } = relayCalls(() => ({ t, token: admin.accessToken }));
const expectedIds = (f: Filter, by: SortField = "CREATED_AT", order: Order = "DESC") => expectedIdsIn(all, f, by, order);

const FILTERS: Array<[string, Filter]> = [
  ["unfiltered", {}],
  ["active, deleted included", { isActive: true, includeDeleted: true }],
  ["a search with role and verification", { query: "example", role: "USER", emailVerified: true }],
];

describe("usersConnection: walking both ways", () => {
  for (const [sortBy, sortOrder] of SORTS) {
    it(`walks ${sortBy} ${sortOrder} forward to the end and back to the start in the same order, flags exact on every page`, async () => {
      for (const [, filter] of FILTERS) {
        const expected = expectedIds(filter, sortBy, sortOrder);
        expect(expected.length).toBeGreaterThan(7);
        const forward = await walkForward({ filter, sortBy, sortOrder }, 7);
        expect(forward.pages.flat()).toEqual(expected);
        const backward = await walkBackward({ filter, sortBy, sortOrder }, 7);
        expect(backward.flat()).toEqual(expected);
        // Backward pages are aligned on the end: the first one holds the remainder.
        expect(backward.at(-1)).toEqual(expected.slice(-7));
        expect(backward[0]).toEqual(expected.slice(0, expected.length % 7 || 7));
      }
    });
  }

  it("pages back from any edge's cursor: the `last` users just before it, in the sort's order", async () => {
    for (const [sortBy, sortOrder] of SORTS) {
      const expected = expectedIds({}, sortBy, sortOrder);
      const { cursors } = await walkForward({ sortBy, sortOrder }, 50);
      for (const i of [1, 5, 17, expected.length - 1]) {
        const c = await conn({ last: 4, before: cursors.get(expected[i]!)!, sortBy, sortOrder });
        expect(ids(c)).toEqual(expected.slice(Math.max(0, i - 4), i));
        expect(flags(c)).toEqual({ prev: i > 4, next: true });
      }
    }
  });
});

describe("usersConnection: pageInfo at the ends and in the middle", () => {
  const sort = { sortBy: "FULL_NAME", sortOrder: "ASC" } as const;
  const expected = () => expectedIds({}, sort.sortBy, sort.sortOrder);

  it("defaults to the first 20 with neither first nor last (an explicit null means the default too)", async () => {
    for (const vars of [{}, { first: null, last: null }] as Vars[]) {
      const c = await conn({ ...vars, ...sort });
      expect(ids(c)).toEqual(expected().slice(0, 20));
      expect(flags(c)).toEqual({ prev: false, next: true });
    }
  });

  it("reports a whole list taken at once as having nothing on either side, forward and backward", async () => {
    const n = expected().length;
    for (const vars of [{ first: n }, { last: n }, { first: 100 }, { last: 100 }]) {
      const c = await conn({ ...vars, ...sort });
      expect(ids(c)).toEqual(expected());
      expect(flags(c)).toEqual({ prev: false, next: false });
      expect(c.totalCount).toBe(n);
    }
  });

  it("answers true on both sides of a middle page, forward and backward", async () => {
    const first = await conn({ first: 10, ...sort });
    const middle = await conn({ first: 10, after: first.pageInfo.endCursor, ...sort });
    expect(ids(middle)).toEqual(expected().slice(10, 20));
    expect(flags(middle)).toEqual({ prev: true, next: true });
    const back = await conn({ last: 5, before: middle.pageInfo.startCursor, ...sort });
    expect(ids(back)).toEqual(expected().slice(5, 10));
    expect(flags(back)).toEqual({ prev: true, next: true });
  });

  it("answers an empty page past either end with null cursors and the flag that points back", async () => {
    const end = await conn({ last: 1, ...sort });
    const past = await conn({ first: 5, after: end.pageInfo.endCursor, ...sort });
    expect(past.edges).toEqual([]);
    expect(past.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    const start = await conn({ first: 1, ...sort });
    const before = await conn({ last: 5, before: start.pageInfo.startCursor, ...sort });
    expect(before.edges).toEqual([]);
    expect(before.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it("counts the cursor's own user as before the page after it (page 2 of size 1 has a previous page)", async () => {
    const one = await conn({ first: 1, ...sort });
    const two = await conn({ first: 1, after: one.pageInfo.endCursor, ...sort });
    expect(ids(two)).toEqual(expected().slice(1, 2));
    expect(flags(two).prev).toBe(true);
    const last = await conn({ last: 1, ...sort });
    const beforeLast = await conn({ last: 1, before: last.pageInfo.startCursor, ...sort });
    expect(flags(beforeLast).next).toBe(true);
  });

  it("asks the filter, not the cursor's presence: nothing before an `after` that precedes every match", async () => {
    // Cursors from the unfiltered list, just outside the admins: under role ADMIN nothing lies beyond them.
    const everyone = expectedIds({}, "CREATED_AT", "ASC");
    const admins = expectedIds({ role: "ADMIN" }, "CREATED_AT", "ASC");
    const { cursors } = await walkForward({ sortBy: "CREATED_AT", sortOrder: "ASC" }, 100);
    const justBeforeFirst = everyone[everyone.indexOf(admins[0]!) - 1]!;
    const justAfterLast = everyone[everyone.indexOf(admins.at(-1)!) + 1]!;
    const vars = { filter: { role: "ADMIN" }, sortBy: "CREATED_AT", sortOrder: "ASC" } as const;
    const forward = await conn({ ...vars, first: 2, after: cursors.get(justBeforeFirst)! });
    expect(ids(forward)).toEqual(admins.slice(0, 2));
    expect(flags(forward)).toEqual({ prev: false, next: true });
    const backward = await conn({ ...vars, last: 2, before: cursors.get(justAfterLast)! });
    expect(ids(backward)).toEqual(admins.slice(-2));
    expect(flags(backward)).toEqual({ prev: true, next: false });
  });

  it("takes after and before together as a window: first/last page inside it, flags per the spec", async () => {
    const list = expected();
    const { cursors } = await walkForward(sort, 100);
    const window = { after: cursors.get(list[3]!)!, before: cursors.get(list[12]!)!, ...sort };
    const whole = await conn({ ...window, first: 20 });
    expect(ids(whole)).toEqual(list.slice(4, 12));
    // hasNextPage with `first` speaks of the window (nothing more inside it), hasPreviousPage of `after`.
    expect(flags(whole)).toEqual({ prev: true, next: false });
    const head = await conn({ ...window, first: 3 });
    expect(ids(head)).toEqual(list.slice(4, 7));
    expect(flags(head)).toEqual({ prev: true, next: true });
    const tail = await conn({ ...window, last: 3 });
    expect(ids(tail)).toEqual(list.slice(9, 12));
    expect(flags(tail)).toEqual({ prev: true, next: true });
    const crossed = await conn({ after: window.before, before: window.after, first: 5, ...sort });
    expect(crossed.edges).toEqual([]);
  });

  it("counts the filter's total whatever the direction", async () => {
    const filter: Filter = { role: "USER", emailVerified: true };
    const c = await conn({ last: 2, filter });
    expect(c.totalCount).toBe(expectedIds(filter).length);
    expect(ids(c)).toEqual(expectedIds(filter).slice(-2));
  });
});

describe("usersConnection: the probe behind a flag runs only when selected", () => {
  const query = (flag: string) => /* GraphQL */ `
    query ($first: Int, $after: String, $last: Int, $before: String) {
      usersConnection(first: $first, after: $after, last: $last, before: $before) { edges { cursor } pageInfo { startCursor ${flag} } }
    }
  `;

  /** How many queries the request builds (db.select calls), with the flag selected or not. */
  async function selects(vars: Vars, flag: string): Promise<number> {
    const spy = vi.spyOn(t.deps.db, "select");
    try {
      const res = await call(vars, query(flag));
      expect(res.body.errors).toBeUndefined();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  it("reads one more row for hasPreviousPage after `after` and for hasNextPage before `before`, none otherwise", async () => {
    const middle = (await conn({ first: 10 })).pageInfo.endCursor!;
    const plain = await selects({ first: 3, after: middle }, "");
    expect(plain).toBeGreaterThan(0);
    expect(await selects({ first: 3, after: middle }, "hasPreviousPage")).toBe(plain + 1);
    // Asked twice under aliases, the probe still runs once.
    expect(await selects({ first: 3, after: middle }, "hasPreviousPage again: hasPreviousPage")).toBe(plain + 1);
    expect(await selects({ last: 3, before: middle }, "hasNextPage")).toBe(plain + 1);
    // What the LIMIT + 1 row answers, or what no cursor leaves to answer, costs no query.
    expect(await selects({ first: 3, after: middle }, "hasNextPage")).toBe(plain);
    expect(await selects({ last: 3, before: middle }, "hasPreviousPage")).toBe(plain);
    expect(await selects({ first: 3 }, "hasPreviousPage hasNextPage")).toBe(plain);
    expect(await selects({ last: 3 }, "hasPreviousPage hasNextPage")).toBe(plain);
  });
});

describe("usersConnection: bad arguments", () => {
  it("refuses first and last together, naming both", async () => {
    const error = onlyError(await call({ first: 5, last: 5 }));
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    expect(error.extensions["fields"]).toEqual([
      { field: "first", message: expect.any(String) },
      { field: "last", message: expect.any(String) },
    ]);
  });

  it("keeps first's schema default of 20 for forward pages, yet takes last alone as backward, written inline too", async () => {
    const inline = (args: string) =>
      t.gql<{ usersConnection: { edges: Array<{ cursor: string }> } }>(
        `{ usersConnection(${args}) { edges { cursor } } }`,
        {},
        { token: admin.accessToken },
      );
    const lastTwo = await inline("last: 2");
    expect(lastTwo.body.errors).toBeUndefined();
    expect(lastTwo.body.data!.usersConnection.edges.map((e) => e.cursor)).toEqual((await conn({ last: 2 })).edges.map((e) => e.cursor));
    // Written by the client, first 20 is a request for both: refused like any other pair.
    expect(onlyError(await inline("first: 20, last: 2")).extensions["fields"]).toEqual([
      { field: "first", message: expect.any(String) },
      { field: "last", message: expect.any(String) },
    ]);
  });

  it("rejects last 0 and last 101 on field last; accepts 1 and 100", async () => {
    expectBadInput(await call({ last: 0 }), "last");
    expectBadInput(await call({ last: 101 }), "last");
    expectBadInput(await call({ last: -3 }), "last");
    expect((await conn({ last: 1 })).edges).toHaveLength(1);
    expect((await conn({ last: 100 })).edges).toHaveLength(expectedIds({}).length);
  });

  it("rejects a garbage cursor, a cursor from another sort, and a tampered one, on field before", async () => {
    expectBadInput(await call({ last: 3, before: "!!not-a-cursor!!" }), "before");
    expectBadInput(await call({ last: 3, before: Buffer.from('{"a":1}').toString("base64url") }), "before");
    const emailCursor = (await conn({ first: 3, sortBy: "EMAIL", sortOrder: "ASC" })).pageInfo.endCursor!;
    expectBadInput(await call({ last: 3, before: emailCursor }), "before");
    expectBadInput(await call({ last: 3, before: emailCursor, sortBy: "EMAIL", sortOrder: "DESC" }), "before");
    const twice = onlyError(await call({ first: 3, after: emailCursor, before: emailCursor }));
    expect(twice.extensions["fields"]).toEqual([
      { field: "after", message: expect.any(String) },
      { field: "before", message: expect.any(String) },
    ]);
    const forge = (sortBy: SortField, key: string): string => Buffer.from(JSON.stringify([sortBy, "DESC", key, admin.id])).toString("base64url");
    expectBadInput(await call({ last: 3, before: forge("CREATED_AT", "not a timestamp") }), "before");
    expectBadInput(await call({ last: 3, before: forge("ROLE", "SUPERUSER"), sortBy: "ROLE" }), "before");
    // Both cursors readable as JSON, only one as the sort's type: the error names that one.
    const good = (await conn({ first: 2 })).pageInfo.endCursor!;
    expectBadInput(await call({ first: 3, after: good, before: forge("CREATED_AT", "yesterday-ish") }), "before");
    const both = onlyError(await call({ first: 3, after: forge("CREATED_AT", "no"), before: forge("CREATED_AT", "nope") }));
    expect(both.extensions.code).toBe("BAD_USER_INPUT");
    expect(both.extensions["fields"]).toEqual([
      { field: "after", message: expect.any(String) },
      { field: "before", message: expect.any(String) },
    ]);
  });
});

// Last: it deletes users.
describe("usersConnection: a cursor whose user is gone", () => {
  it("still pages forward and backward from the position of a soft-deleted or removed user", async () => {
    const sort = { sortBy: "CREATED_AT", sortOrder: "DESC" } as const;
    const before = expectedIds({}, sort.sortBy, sort.sortOrder);
    const { cursors } = await walkForward(sort, 100);
    const [softGone, hardGone] = [before[8]!, before[20]!];
    await t.deps.db.update(users).set({ deletedAt: at(95) }).where(eq(users.id, softGone));
    await t.deps.db.delete(users).where(inArray(users.id, [hardGone]));
    all = all.flatMap((u) => (u.id === hardGone ? [] : [u.id === softGone ? { ...u, deleted: true } : u]));
    const after = expectedIds({}, sort.sortBy, sort.sortOrder);
    expect(after).toHaveLength(before.length - 2);

    for (const gone of [softGone, hardGone]) {
      const i = before.indexOf(gone);
      const next = await conn({ first: 5, after: cursors.get(gone)!, ...sort });
      expect(ids(next)).toEqual(before.slice(i + 1).filter((id) => after.includes(id)).slice(0, 5));
      expect(flags(next)).toEqual({ prev: true, next: true });
      const prev = await conn({ last: 5, before: cursors.get(gone)!, ...sort });
      expect(ids(prev)).toEqual(before.slice(0, i).filter((id) => after.includes(id)).slice(-5));
      expect(flags(prev)).toEqual({ prev: true, next: true });
    }
  });
});
