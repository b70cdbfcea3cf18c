import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DELETED,
  SORTS,
  STATS,
  USER,
  directoryCalls,
  iso,
  seedDirectory,
  type Filter,
  type ListedUser,
  type Seeded,
  type SortField,
} from "./support/admin-users.js";
import { expectBadInput, onlyError, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";

let t: TestServer;
let admin: TestUser;
let twice: TestUser;
let all: Seeded[] = [];

beforeAll(async () => {
  t = await startTestServer();
  ({ admin, twice, all } = await seedDirectory(t));
});
afterAll(async () => {
  await t?.close();
});

const { listUsers, pageOf, connection, expectedIds, byName, namesOf, idsOf, walkConnection } = directoryCalls(() => ({ t, admin, all }));

describe("admin user queries: access", () => {
  it("refuses an anonymous caller with UNAUTHENTICATED and a USER with FORBIDDEN", async () => {
    expect(onlyError(await listUsers({}, null)).extensions.code).toBe("UNAUTHENTICATED");
    expect(onlyError(await listUsers({}, twice.accessToken)).extensions.code).toBe("FORBIDDEN");
    expect(onlyError(await connection({}, twice.accessToken)).extensions.code).toBe("FORBIDDEN");
    const one = await t.gql(USER, { id: admin.id }, { token: twice.accessToken });
    expect(onlyError(one).extensions.code).toBe("FORBIDDEN");
    expect(one.body.data?.["user"] ?? null).toBeNull();
  });
});

describe("users: search", () => {
  const cases: ReadonlyArray<readonly [string, Filter, string[]]> = [
    ["a name fragment, in another case", { query: "LICE" }, ["Alice Walker"]],
    ["a local-part fragment", { query: "lex" }, ["Xavier Quinn"]],
    [
      "a domain fragment (deleted users hidden)",
      { query: " LAKESIDE " },
      ["Alice Walker", "Greta Nilsson", "Helga Brandt", "Keiko Tanaka", "Oscar Pena", "Sally Alvarez", "Tomas Novak", "dana scott"],
    ],
    ["a fragment of a mixed-case email", { query: "quarry" }, ["Farid Haddad", "Felix Krull", "Ingrid Berg", "Rosa Marquez", "Wendell Pierce", "ZOE Park"]],
    ["2 characters: prefixes only ('al' is not Sally Alvarez)", { query: "al" }, ["Alice Walker", "Xavier Quinn"]],
    ["2 characters in upper case", { query: "AL" }, ["Alice Walker", "Xavier Quinn"]],
    ["1 character", { query: "s" }, ["Sally Alvarez", "Stefan Vogel"]],
    ["'%' is a literal", { query: "%" }, []],
    ["'_' is a literal", { query: "_" }, []],
    ["'%%%' is a literal", { query: "%%%" }, []],
    ["'y%o' is a literal", { query: "y%o" }, ["Percy Fifty%Off"]],
    ["'a_t' is a literal", { query: "a_t", includeDeleted: true }, ["Uma Thurston"]],
    ["'a.t' is a literal, not a regex dot", { query: "a.t" }, []],
    ["'(.*)' is a literal", { query: "(.*)" }, []],
    ["a fragment with a dot", { query: "t.sho" }, ["Percy Fifty%Off"]],
    ["a long fragment with a dot", { query: "FILM.NET" }, ["Beatrix Kiddo", "Juno Reyes", "Uma Thurston"]],
  ];
  for (const [label, filter, names] of cases) {
    it(`matches ${label}`, async () => {
      const page = await pageOf({ filter, size: 100 });
      expect(namesOf(page.items.map((u) => u.id))).toEqual([...names].sort());
      expect(page.total).toBe(names.length);
      expect(namesOf(expectedIds(filter))).toEqual([...names].sort()); // the JS model agrees
    });
  }

  it("would have matched more had the wildcards not been escaped (the literal cases can fail)", () => {
    const naive = (pattern: RegExp): number => all.filter((u) => pattern.test(u.email.toLowerCase()) || pattern.test(u.fullName.toLowerCase())).length;
    expect(naive(/y.*o/)).toBeGreaterThan(1);
    expect(naive(/a.t/)).toBeGreaterThan(1);
  });
});

describe("users: filters", () => {
  const cases: ReadonlyArray<readonly [string, Filter]> = [
    ["role ADMIN", { role: "ADMIN" }],
    ["role USER", { role: "USER" }],
    ["isActive false", { isActive: false }],
    ["isActive true", { isActive: true }],
    ["emailVerified false", { emailVerified: false }],
    ["emailVerified true", { emailVerified: true }],
    ["createdAfter", { createdAfter: iso(19.5) }],
    ["createdBefore", { createdBefore: iso(9.5) }],
    ["a created window", { createdAfter: iso(4.5), createdBefore: iso(20.5) }],
    ["includeDeleted", { includeDeleted: true }],
    ["deleted ADMINs included", { role: "ADMIN", includeDeleted: true }],
    ["everything combined", { role: "USER", isActive: true, emailVerified: false, createdAfter: iso(2.5), createdBefore: iso(62), includeDeleted: true }],
    ["query with status", { query: "lakeside", isActive: true, emailVerified: true }],
  ];
  for (const [label, filter] of cases) {
    it(`filters by ${label}`, async () => {
      const expected = expectedIds(filter);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected).not.toEqual(expectedIds({})); // the filter does select something
      const page = await pageOf({ filter, size: 100 });
      expect(page.items.map((u) => u.id)).toEqual(expected);
      expect(page.total).toBe(expected.length);
    });
  }

  it("hides deleted users by default and shows them, with deletedAt, on includeDeleted", async () => {
    const gone = byName("Elena Fischer");
    expect(await idsOf({})).not.toContain(gone.id);
    expect(await idsOf({ includeDeleted: false })).toHaveLength(all.length - DELETED.size);
    const shown = (await pageOf({ filter: { includeDeleted: true }, size: 100 })).items.find((u) => u.id === gone.id);
    expect(shown?.deletedAt).toBe(iso(90));
  });

  it("splits a time range at a shared created_at into disjoint windows that cover it", async () => {
    const left = await idsOf({ createdAfter: iso(4.5), createdBefore: iso(10) });
    const right = await idsOf({ createdAfter: iso(10), createdBefore: iso(25.5) });
    const whole = expectedIds({ createdAfter: iso(4.5), createdBefore: iso(25.5) });
    expect(left.filter((id) => right.includes(id))).toEqual([]);
    expect([...left, ...right].sort()).toEqual([...whole].sort());
  });
});

describe("users: sorting and pages", () => {
  for (const [sortBy, sortOrder] of SORTS) {
    it(`orders by ${sortBy} ${sortOrder} with ties broken by id, and pages through it exactly once`, async () => {
      expect(await idsOf({ includeDeleted: true }, sortBy, sortOrder)).toEqual(expectedIds({ includeDeleted: true }, sortBy, sortOrder));
      const expected = expectedIds({}, sortBy, sortOrder);
      const walked: string[] = [];
      for (let page = 1; page <= 6; page += 1) {
        const p = await pageOf({ page, size: 7, sortBy, sortOrder });
        expect({ total: p.total, pages: p.pages, page: p.page, size: p.size }).toEqual({ total: 38, pages: 6, page, size: 7 });
        walked.push(...p.items.map((u) => u.id));
      }
      expect(walked).toEqual(expected);
    });
  }

  it("defaults to CREATED_AT DESC, 20 a page", async () => {
    const p = await pageOf({});
    expect(p.items.map((u) => u.id)).toEqual(expectedIds({}).slice(0, 20));
    expect({ total: p.total, page: p.page, size: p.size, pages: p.pages }).toEqual({ total: 38, page: 1, size: 20, pages: 2 });
  });

  it("rejects size 0, size 101 and page 0 naming the field; accepts size 100", async () => {
    expectBadInput(await listUsers({ size: 0 }), "size");
    expectBadInput(await listUsers({ size: 101 }), "size");
    expectBadInput(await listUsers({ page: 0 }), "page");
    const p = await pageOf({ size: 100, filter: { includeDeleted: true } });
    expect({ n: p.items.length, total: p.total, pages: p.pages }).toEqual({ n: 42, total: 42, pages: 1 });
  });

  it("answers a page past the end with no items and the right total", async () => {
    const p = await pageOf({ page: 7, size: 7 });
    expect(p).toEqual({ items: [], total: 38, page: 7, size: 7, pages: 6 });
  });

  it("pages a long search term (page and total from one scan) in every sort, and past its end", async () => {
    const filter: Filter = { query: "lakeside" };
    for (const [sortBy, sortOrder] of SORTS) {
      const walked: string[] = [];
      for (let page = 1; page <= 3; page += 1) {
        const p = await pageOf({ filter, page, size: 3, sortBy, sortOrder });
        expect({ total: p.total, pages: p.pages }).toEqual({ total: 8, pages: 3 });
        walked.push(...p.items.map((u) => u.id));
      }
      expect(walked).toEqual(expectedIds(filter, sortBy, sortOrder));
    }
    expect(await pageOf({ filter, page: 4, size: 3 })).toEqual({ items: [], total: 8, page: 4, size: 3, pages: 3 });
    expect(await pageOf({ filter: { query: "no-such-fragment" }, size: 3 })).toEqual({ items: [], total: 0, page: 1, size: 3, pages: 0 });
  });
});

describe("usersConnection", () => {
  for (const [sortBy, sortOrder] of SORTS) {
    it(`walks ${sortBy} ${sortOrder} in the order of users, unfiltered and filtered`, async () => {
      for (const filter of [{}, { isActive: true, includeDeleted: true }] as Filter[]) {
        const walk = await walkConnection({ first: 6, filter, sortBy, sortOrder });
        expect(walk.ids).toEqual(expectedIds(filter, sortBy, sortOrder));
        expect(walk.ids).toEqual(await idsOf(filter, sortBy, sortOrder));
        expect(walk.totalCount).toBe(walk.ids.length);
      }
    });
  }

  it("counts the filter's total whatever the page size", async () => {
    const filter: Filter = { role: "USER", emailVerified: true };
    const res = await connection({ first: 2, filter });
    expect(res.body.data!.usersConnection.totalCount).toBe(expectedIds(filter).length);
    expect(res.body.data!.usersConnection.edges).toHaveLength(2);
    expect(res.body.data!.usersConnection.pageInfo.hasNextPage).toBe(true);
  });

  it("rejects first 0 and first 101 on field first", async () => {
    expectBadInput(await connection({ first: 0 }), "first");
    expectBadInput(await connection({ first: 101 }), "first");
  });

  it("rejects a garbage cursor, a cursor from another sort, and a tampered one, on field after", async () => {
    expectBadInput(await connection({ after: "!!not-a-cursor!!" }), "after");
    expectBadInput(await connection({ after: Buffer.from('{"a":1}').toString("base64url") }), "after");
    const emailCursor = (await connection({ first: 3, sortBy: "EMAIL", sortOrder: "ASC" })).body.data!.usersConnection.pageInfo.endCursor!;
    expectBadInput(await connection({ after: emailCursor, sortBy: "CREATED_AT", sortOrder: "DESC" }), "after");
    expectBadInput(await connection({ after: emailCursor, sortBy: "EMAIL", sortOrder: "DESC" }), "after");
    // The current encoding, right sort, but a key of the wrong type: still the client's mistake, not a 500.
    const forge = (sortBy: SortField, key: string): string => Buffer.from(JSON.stringify([sortBy, "DESC", key, admin.id])).toString("base64url");
    expectBadInput(await connection({ after: forge("CREATED_AT", "not a timestamp") }), "after");
    expectBadInput(await connection({ after: forge("ROLE", "SUPERUSER"), sortBy: "ROLE" }), "after");
  });

  it("resumes from any edge's cursor", async () => {
    const expected = expectedIds({}, "FULL_NAME", "ASC");
    const first = (await connection({ first: 10, sortBy: "FULL_NAME", sortOrder: "ASC" })).body.data!.usersConnection;
    const next = await connection({ first: 5, after: first.edges[4]!.cursor, sortBy: "FULL_NAME", sortOrder: "ASC" });
    expect(next.body.data!.usersConnection.edges.map((e) => e.node.id)).toEqual(expected.slice(5, 10));
  });
});

describe("user(id)", () => {
  it("returns a live user and a deleted one with deletedAt set", async () => {
    const live = byName("Alice Walker");
    const res = await t.gql<{ user: ListedUser & { email: string } }>(USER, { id: live.id }, { token: admin.accessToken });
    expect(res.body.data!.user).toEqual({ id: live.id, email: "awalker@lakeside.org", fullName: "Alice Walker", deletedAt: null });
    const gone = byName("Dmitri Orlov");
    const del = await t.gql<{ user: ListedUser }>(USER, { id: gone.id }, { token: admin.accessToken });
    expect(del.body.data!.user).toMatchObject({ id: gone.id, deletedAt: iso(90) });
    const upper = await t.gql<{ user: ListedUser }>(USER, { id: live.id.toUpperCase() }, { token: admin.accessToken });
    expect(upper.body.data!.user.id).toBe(live.id);
  });

  it("answers null without an error for an unknown id, BAD_USER_INPUT on id for a malformed one", async () => {
    const res = await t.gql<{ user: null }>(USER, { id: "7d9f1c52-3a1e-4b8f-9c2d-5e6f7a8b9c0d" }, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ user: null });
    expectBadInput(await t.gql(USER, { id: "not-a-uuid" }, { token: admin.accessToken }), "id", { nullableRoot: true });
  });
});

describe("stats of listed users", () => {
  it("resolves loginCount and activeSessions for every user of a page", async () => {
    type StatsItem = { id: string; stats: { activeSessions: number; loginCount: number } };
    const res = await t.gql<{ users: { items: StatsItem[] } }>(STATS, {}, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    const stats = new Map(res.body.data!.users.items.map((u) => [u.id, u.stats]));
    expect(stats.get(twice.id)).toEqual({ activeSessions: 2, loginCount: 2 });
    expect(stats.get(admin.id)).toEqual({ activeSessions: 1, loginCount: 1 });
    expect(stats.get(byName("Alice Walker").id)).toEqual({ activeSessions: 0, loginCount: 0 });
    expect(stats.size).toBe(38);
  });
});
