import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { users, type UserRow } from "../../src/db/schema.js";
import { logIn, signUp, type TestUser } from "./flows.js";
import type { GqlResponse, TestServer } from "./server.js";

/* The seeded user directory of the admin query tests (users, usersConnection, user), and the JS oracle
 * that computes what the API must answer from the seeded rows. */

export type Role = "USER" | "ADMIN";
export type SortField = "CREATED_AT" | "EMAIL" | "FULL_NAME" | "LAST_LOGIN_AT" | "ROLE";
export type Order = "ASC" | "DESC";

export interface Filter {
  query?: string;
  role?: Role;
  isActive?: boolean;
  emailVerified?: boolean;
  createdAfter?: string;
  createdBefore?: string;
  includeDeleted?: boolean;
}

/** The JS copy of a users row that the expected answers are computed from. */
export type Seeded = Pick<UserRow, "id" | "email" | "fullName" | "role" | "isActive" | "emailVerified"> & {
  createdAt: number;
  lastLoginAt: number | null;
  deleted: boolean;
};

export type ListedUser = { id: string; fullName: string; deletedAt: string | null };
export type UserPageView = { items: ListedUser[]; total: number; page: number; size: number; pages: number };
export interface ConnectionView {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
export interface ListVars {
  filter?: Filter;
  sortBy?: SortField;
  sortOrder?: Order;
}
export type UsersVars = ListVars & { page?: number; size?: number };
export type ConnectionVars = ListVars & { first?: number; after?: string | null };

export const USERS = /* GraphQL */ `
  query Users($filter: UserFilter, $page: Int, $size: Int, $sortBy: UserSortField, $sortOrder: SortOrder) {
    users(filter: $filter, page: $page, size: $size, sortBy: $sortBy, sortOrder: $sortOrder) {
      total page size pages items { id fullName deletedAt }
    }
  }
`;
export const CONNECTION = /* GraphQL */ `
  query Conn($first: Int, $after: String, $filter: UserFilter, $sortBy: UserSortField, $sortOrder: SortOrder) {
    usersConnection(first: $first, after: $after, filter: $filter, sortBy: $sortBy, sortOrder: $sortOrder) {
      totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor }
    }
  }
`;
export const USER = /* GraphQL */ `
  query User($id: ID!) { user(id: $id) { id email fullName deletedAt } }
`;
export const STATS = /* GraphQL */ `
  query Stats { users(size: 100) { items { id stats { activeSessions loginCount } } } }
`;

export const DAY_MS = 24 * 60 * 60 * 1000;
export const T0 = Date.parse("2024-01-01T00:00:00.000Z");
export const at = (days: number): Date => new Date(T0 + days * DAY_MS);
export const iso = (days: number): string => at(days).toISOString();

// Distinct ASCII names whose order does not depend on collation (checked in beforeAll).
export const PEOPLE: ReadonlyArray<readonly [string, string]> = [
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
export const DELETED = new Set<number>([7, 15, 31, 39]);
// Ties on created_at: 10/11/12 share one instant, 20/21 another.
export const createdDay = (i: number): number => (i === 11 || i === 12 ? 10 : i === 21 ? 20 : i);

export const SORTS: ReadonlyArray<readonly [SortField, Order]> = (["CREATED_AT", "EMAIL", "FULL_NAME", "LAST_LOGIN_AT", "ROLE"] as const).flatMap(
  (f: SortField) => [[f, "ASC"], [f, "DESC"]] as const,
);

/**
 * Empties the database and seeds the directory the query tests read: an admin, a user who logged in
 * twice, and PEOPLE (some deleted, inactive, unverified or admins, with ties on created_at and last
 * login). Returns them with the JS copy of every row that the expected answers are computed from.
 */
export async function seedDirectory(t: TestServer): Promise<{ admin: TestUser; twice: TestUser; all: Seeded[] }> {
  await t.reset();
  const admin = await signUp(t, { email: "zadmin@example.com", fullName: "Zelda Admin", role: "ADMIN" });
  const twice = await signUp(t, { email: "tobias@example.com", fullName: "Tobias Twice" });
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
  const all: Seeded[] = rows.map((r) => ({
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
  return { admin, twice, all };
}

/** -1, 0 or 1, as the database's order of two keys. */
export function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The key a sort field orders by. */
export function sortKey(u: Seeded, by: SortField): string | number {
  switch (by) {
    case "CREATED_AT": return u.createdAt;
    case "EMAIL": return u.email.toLowerCase();
    case "FULL_NAME": return u.fullName.toLowerCase();
    case "LAST_LOGIN_AT": return u.lastLoginAt ?? -Infinity; // never logged in = oldest
    case "ROLE": return u.role === "USER" ? 0 : 1; // the order `enum Role { USER ADMIN }` declares
  }
}

/** The contract of UserFilter, written out in JS. */
export function matches(u: Seeded, f: Filter): boolean {
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

/** What the API must list for a filter and sort, computed from the JS copy. */
export function expectedIdsIn(all: readonly Seeded[], f: Filter, by: SortField = "CREATED_AT", order: Order = "DESC"): string[] {
  const dir = order === "ASC" ? 1 : -1;
  return all
    .filter((u) => matches(u, f))
    .sort((a, b) => dir * (cmp(sortKey(a, by), sortKey(b, by)) || cmp(a.id, b.id)))
    .map((u) => u.id);
}

/** The lookups the query tests make, bound to the file's server, admin and seeded rows (read when called). */
export function directoryCalls(get: () => { t: TestServer; admin: TestUser; all: readonly Seeded[] }) {
  const listUsers = (vars: UsersVars, token: string | null = get().admin.accessToken): Promise<GqlResponse<{ users: UserPageView }>> =>
    get().t.gql<{ users: UserPageView }>(USERS, { ...vars }, token === null ? {} : { token });
  async function pageOf(vars: UsersVars): Promise<UserPageView> {
    const res = await listUsers(vars);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.users;
  }
  const connection = (vars: ConnectionVars, token: string = get().admin.accessToken): Promise<GqlResponse<{ usersConnection: ConnectionView }>> =>
    get().t.gql<{ usersConnection: ConnectionView }>(CONNECTION, { ...vars }, { token });
  return {
    listUsers,
    pageOf,
    connection,
    expectedIds: (f: Filter, by?: SortField, order?: Order): string[] => expectedIdsIn(get().all, f, by, order),
    byName: (name: string): Seeded => get().all.find((u) => u.fullName === name)!,
    namesOf: (ids: string[]): string[] => ids.map((id) => get().all.find((u) => u.id === id)!.fullName).sort(),
    /** Every id the API lists for a filter, in one page of 100. */
    async idsOf(filter: Filter, sortBy?: SortField, sortOrder?: Order): Promise<string[]> {
      return (await pageOf({ filter, size: 100, sortBy, sortOrder })).items.map((u) => u.id);
    },
    async walkConnection(vars: ConnectionVars): Promise<{ ids: string[]; totalCount: number }> {
      const ids: string[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 100; guard += 1) {
        const res = await connection({ ...vars, after });
        expect(res.body.errors).toBeUndefined();
        const conn = res.body.data!.usersConnection;
        ids.push(...conn.edges.map((e) => e.node.id));
        expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
        if (!conn.pageInfo.hasNextPage) return { ids, totalCount: conn.totalCount };
        after = conn.pageInfo.endCursor;
      }
      throw new Error("usersConnection never reported hasNextPage: false");
    },
  };
}
