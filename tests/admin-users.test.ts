import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { users, type UserRow } from "../src/db/schema.js";
import { expectBadInput, logIn, onlyError, signUp, type TestUser } from "./support/flows.js";
import { startTestServer, type GqlResponse, type TestServer } from "./support/server.js";

type Role = "USER" | "ADMIN";
type SortField = "CREATED_AT" | "EMAIL" | "FULL_NAME" | "LAST_LOGIN_AT" | "ROLE";
type Order = "ASC" | "DESC";

interface Filter {
  query?: string;
  role?: Role;
  isActive?: boolean;
  emailVerified?: boolean;
  createdAfter?: string;
  createdBefore?: string;
  includeDeleted?: boolean;
}

/** The JS copy of a users row that the expected answers are computed from. */
type Seeded = Pick<UserRow, "id" | "email" | "fullName" | "role" | "isActive" | "emailVerified"> & {
  createdAt: number;
  lastLoginAt: number | null;
  deleted: boolean;
};

type ListedUser = { id: string; fullName: string; deletedAt: string | null };
type UserPageView = { items: ListedUser[]; total: number; page: number; size: number; pages: number };
interface ConnectionView {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
interface ListVars {
  filter?: Filter;
  sortBy?: SortField;
  sortOrder?: Order;
}
type UsersVars = ListVars & { page?: number; size?: number };
type ConnectionVars = ListVars & { first?: number; after?: string | null };

const USERS = /* GraphQL */ `
  query Users($filter: UserFilter, $page: Int, $size: Int, $sortBy: UserSortField, $sortOrder: SortOrder) {
    users(filter: $filter, page: $page, size: $size, sortBy: $sortBy, sortOrder: $sortOrder) {
      total page size pages items { id fullName deletedAt }
    }
  }
`;
const CONNECTION = /* GraphQL */ `
  query Conn($first: Int, $after: String, $filter: UserFilter, $sortBy: UserSortField, $sortOrder: SortOrder) {
    usersConnection(first: $first, after: $after, filter: $filter, sortBy: $sortBy, sortOrder: $sortOrder) {
      totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor }
    }
  }
`;
const USER = /* GraphQL */ `
  query User($id: ID!) { user(id: $id) { id email fullName deletedAt } }
`;
const STATS = /* GraphQL */ `
  query Stats { users(size: 100) { items { id stats { activeSessions loginCount } } } }
`;

const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2024-01-01T00:00:00.000Z");
const at = (days: number): Date => new Date(T0 + days * DAY_MS);
const iso = (days: number): string => at(days).toISOString();

// Distinct ASCII names whose order does not depend on collation (checked in beforeAll).
const PEOPLE: ReadonlyArray<readonly [string, string]> = [
  ["Alice Walker", "awalker@lakeside.org"], ["Xavier Quinn", "alex@northwind.io"], ["Sally Alvarez", "salvarez@lakeside.org"],
  ["Bruno Diaz", "bruno@example.com"], ["Carmen Lopez", "CLopez@Example.COM"], ["DANA SCOTT", "DScott@Example.COM"],
  ["dana scott", "danas@lakeside.org"], ["Elena Fischer", "efischer@example.com"], ["Farid Haddad", "farid@quarry.io"],
  ["Greta Nilsson", "greta@lakeside.org"], ["Hugo Becker", "hbecker@example.com"], ["Ingrid Berg", "ingrid@quarry.io"],
  ["Jonas Weber", "jweber@example.com"], ["Keiko Tanaka", "keiko@lakeside.org"], ["Lars Holm", "lholm@example.com"],
  ["Mira Kovac", "mkovac@quarry.io"], ["Nadia Rahman", "nadia@example.com"], ["Oscar Pena", "opena@lakeside.org"],
  ["Percy Fifty%Off", "percy@discount.shop"], ["Quentin Blake", "qblake@example.com"], ["Rosa Marquez", "rosa@quarry.io"],
  ["Stefan Vogel", "svogel@example.com"], ["Tomas Novak", "tnovak@lakeside.org"], ["Uma Thurston", "uma_t@film.net"],
  ["Vera Ilic", "vilic@example.com"], ["Wendell Pierce", "wpierce@quarry.io"], ["Yolanda Ortiz", "yortiz@example.com"],
  ["ZOE Park", "ZPark@Quarry.IO"], ["Martin Cole", "mcole@example.com"], ["Beatrix Kiddo", "bkiddo@film.net"],
  ["Cyrus Vance", "cvance@example.com"], ["Dmitri Orlov", "dorlov@lakeside.org"], ["Esther Green", "egreen@example.com"],
  ["Felix Krull", "fkrull@quarry.io"], ["Gideon Fell", "gfell@example.com"], ["Helga Brandt", "hbrandt@lakeside.org"],
  ["Ivo Andric", "iandric@example.com"], ["Juno Reyes", "jreyes@film.net"], ["Kasimir Malevich", "kmalevich@example.com"],
  ["Leona Fox", "lfox@lakeside.org"],
];
const DELETED = new Set<number>([7, 15, 31, 39]);
// Ties on created_at: 10/11/12 share one instant, 20/21 another.
const createdDay = (i: number): number => (i === 11 || i === 12 ? 10 : i === 21 ? 20 : i);

const SORTS: ReadonlyArray<readonly [SortField, Order]> = (["CREATED_AT", "EMAIL", "FULL_NAME", "LAST_LOGIN_AT", "ROLE"] as const).flatMap(
  (f: SortField) => [[f, "ASC"], [f, "DESC"]] as const,
);

let t: TestServer;
let admin: TestUser;
let twice: TestUser;
let all: Seeded[] = [];

beforeAll(async () => {
  t = await startTestServer();
  await t.reset();
  admin = await signUp(t, { email: "zadmin@example.com", fullName: "Zelda Admin", role: "ADMIN" });
  twice = await signUp(t, { email: "tobias@example.com", fullName: "Tobias Twice" });
  await logIn(t, twice.email, twice.password);
  // Millisecond timestamps, so that the JS copy orders exactly as the database does.
  await t.deps.db.update(users).set({ createdAt: at(60), lastLoginAt: at(70) }).where(eq(users.id, admin.id));
  await t.deps.db.update(users).set({ createdAt: at(61), lastLoginAt: at(71) }).where(eq(users.id, twice.id));
  await t.deps.db.insert(users).values(
    PEOPLE.map(([fullName, email], i) => ({
      fullName,
      email,
      passwordHash: "x",
      role: (i % 6 === 5 ? "ADMIN" : "USER") as Role,
      isActive: i % 4 !== 2,
      emailVerified: i % 3 !== 0,
      createdAt: at(createdDay(i)),
      lastLoginAt: i % 5 === 1 ? null : at(50 + (i % 7)), // never logged in, and many ties
      deletedAt: DELETED.has(i) ? at(90) : null,
    })),
  );
  const rows = await t.deps.db.select().from(users);
  all = rows.map((r) => ({
    id: r.id, email: r.email, fullName: r.fullName, role: r.role, isActive: r.isActive, emailVerified: r.emailVerified,
    createdAt: r.createdAt.getTime(), lastLoginAt: r.lastLoginAt?.getTime() ?? null, deleted: r.deletedAt !== null,
  }));
  // Byte order (C, PGlite) and linguistic order (en_US ignores punctuation) must agree on this data.
  const strip = (s: string): string => s.replace(/[^a-z0-9]/g, "");
  for (const key of [(u: Seeded) => u.email.toLowerCase(), (u: Seeded) => u.fullName.toLowerCase()]) {
    for (const a of all) for (const b of all) {
      if (Math.sign(cmp(key(a), key(b))) !== Math.sign(cmp(strip(key(a)), strip(key(b))))) throw new Error(`collation-sensitive seed: ${key(a)} / ${key(b)}`);
    }
  }
});
afterAll(async () => {
  await t?.close();
});

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKey(u: Seeded, by: SortField): string | number {
  switch (by) {
    case "CREATED_AT": return u.createdAt;
    case "EMAIL": return u.email.toLowerCase();
    case "FULL_NAME": return u.fullName.toLowerCase();
    case "LAST_LOGIN_AT": return u.lastLoginAt ?? -Infinity; // never logged in = oldest
    case "ROLE": return u.role === "USER" ? 0 : 1; // the order `enum Role { USER ADMIN }` declares
  }
}

/** The contract of UserFilter, written out in JS. */
function matches(u: Seeded, f: Filter): boolean {
  const term = f.query?.trim().toLowerCase() ?? "";
  const hay = [u.email.toLowerCase(), u.fullName.toLowerCase()];
  if (term && !hay.some((s) => (term.length >= 3 ? s.includes(term) : s.startsWith(term)))) return false;
  if (f.role && u.role !== f.role) return false;
  if (f.isActive !== undefined && u.isActive !== f.isActive) return false;
  if (f.emailVerified !== undefined && u.emailVerified !== f.emailVerified) return false;
  if (f.createdAfter && u.createdAt < Date.parse(f.createdAfter)) return false;
  if (f.createdBefore && u.createdAt >= Date.parse(f.createdBefore)) return false;
  return f.includeDeleted === true || !u.deleted;
}

function expectedIds(f: Filter, by: SortField = "CREATED_AT", order: Order = "DESC"): string[] {
  const dir = order === "ASC" ? 1 : -1;
  return all
    .filter((u) => matches(u, f))
    .sort((a, b) => dir * (cmp(sortKey(a, by), sortKey(b, by)) || cmp(a.id, b.id)))
    .map((u) => u.id);
}

const byName = (name: string): Seeded => all.find((u) => u.fullName === name)!;
const namesOf = (ids: string[]): string[] => ids.map((id) => all.find((u) => u.id === id)!.fullName).sort();

function listUsers(vars: UsersVars, token: string | null = admin.accessToken): Promise<GqlResponse<{ users: UserPageView }>> {
  return t.gql<{ users: UserPageView }>(USERS, { ...vars }, token === null ? {} : { token });
}

async function pageOf(vars: UsersVars): Promise<UserPageView> {
  const res = await listUsers(vars);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.users;
}

/** Every id the API lists for a filter, in one page of 100. */
async function idsOf(filter: Filter, sortBy?: SortField, sortOrder?: Order): Promise<string[]> {
  return (await pageOf({ filter, size: 100, sortBy, sortOrder })).items.map((u) => u.id);
}

function connection(vars: ConnectionVars, token: string = admin.accessToken): Promise<GqlResponse<{ usersConnection: ConnectionView }>> {
  return t.gql<{ usersConnection: ConnectionView }>(CONNECTION, { ...vars }, { token });
}

async function walkConnection(vars: ConnectionVars): Promise<{ ids: string[]; totalCount: number }> {
  const ids: string[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (let guard = 0; guard < 100; guard += 1) {
    const res = await connection({ ...vars, after });
    expect(res.body.errors).toBeUndefined();
    const conn = res.body.data!.usersConnection;
    totalCount = conn.totalCount;
    ids.push(...conn.edges.map((e) => e.node.id));
    expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
    if (!conn.pageInfo.hasNextPage) return { ids, totalCount };
    after = conn.pageInfo.endCursor;
  }
  throw new Error("usersConnection never reported hasNextPage: false");
}

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
    ["a domain fragment (deleted users hidden)", { query: " LAKESIDE " }, ["Alice Walker", "Greta Nilsson", "Helga Brandt", "Keiko Tanaka", "Oscar Pena", "Sally Alvarez", "Tomas Novak", "dana scott"]],
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
    const res = await t.gql<{ users: { items: Array<{ id: string; stats: { activeSessions: number; loginCount: number } }> } }>(STATS, {}, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    const stats = new Map(res.body.data!.users.items.map((u) => [u.id, u.stats]));
    expect(stats.get(twice.id)).toEqual({ activeSessions: 2, loginCount: 2 });
    expect(stats.get(admin.id)).toEqual({ activeSessions: 1, loginCount: 1 });
    expect(stats.get(byName("Alice Walker").id)).toEqual({ activeSessions: 0, loginCount: 0 });
    expect(stats.size).toBe(38);
  });
});
