import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXACT_TOTAL_LIMIT } from "../src/admin/users-query.service.js";
import { users } from "../src/db/schema.js";
import { signUp, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * `total` and `totalCount` are counted up to 10,000 matches and estimated above (totalIsExact,
 * totalCountIsExact false). The rows are seeded with one INSERT ... SELECT generate_series: exactly
 * 10,000 addresses with "capfrag" first, then one more, on both databases.
 */

const USERS = /* GraphQL */ `
  query ($filter: UserFilter, $page: Int, $size: Int, $sortBy: UserSortField, $sortOrder: SortOrder) {
    users(filter: $filter, page: $page, size: $size, sortBy: $sortBy, sortOrder: $sortOrder) {
      total totalIsExact page pages items { email }
    }
  }
`;
const CONNECTION = /* GraphQL */ `
  query ($filter: UserFilter, $first: Int) {
    usersConnection(filter: $filter, first: $first, sortBy: EMAIL, sortOrder: ASC) { totalCount totalCountIsExact edges { node { email } } }
  }
`;
const ONLY_EXACT = /* GraphQL */ `
  query ($filter: UserFilter) { usersConnection(filter: $filter, first: 1) { totalCountIsExact } }
`;

interface PageView {
  total: number;
  totalIsExact: boolean;
  page: number;
  pages: number;
  items: Array<{ email: string }>;
}

let t: TestServer;
let admin: TestUser;

/** `n` users capfrag.<from..from+n-1>@cap.test, the number zero-padded so that email order is numeric order. */
async function seedCapUsers(from: number, n: number): Promise<void> {
  await t.deps.db.execute(sql`
    insert into ${users} (email, full_name, password_hash, created_at)
    select 'capfrag.' || lpad(g::text, 6, '0') || '@cap.test', 'Cap User ' || g, 'x', now() - g * interval '1 minute'
    from generate_series(${from}::int, ${from + n - 1}::int) g`);
  await t.deps.db.execute(sql`analyze ${users}`);
}
const capEmail = (g: number) => `capfrag.${String(g).padStart(6, "0")}@cap.test`;

async function page(vars: Record<string, unknown>): Promise<PageView> {
  const res = await t.gql<{ users: PageView }>(USERS, vars, { token: admin.accessToken });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.users;
}
async function connection(vars: Record<string, unknown>) {
  const res = await t.gql<{ usersConnection: { totalCount: number; totalCountIsExact: boolean; edges: Array<{ node: { email: string } }> } }>(
    CONNECTION,
    vars,
    { token: admin.accessToken },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.usersConnection;
}

beforeAll(async () => {
  t = await startTestServer();
  // Seeded first: an idle keep-alive connection left from a request before a long seed can be closed under fetch.
  await seedCapUsers(1, EXACT_TOTAL_LIMIT);
  admin = await signUp(t, { fullName: "Cap Admin", role: "ADMIN" });
  await signUp(t, { email: "edge@join.io", fullName: "Xy Zed" });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe("totals up to the cap", () => {
  it("counts a small result exactly", async () => {
    const p = await page({ filter: { query: "join.io" } });
    expect({ total: p.total, totalIsExact: p.totalIsExact, emails: p.items.map((u) => u.email) }).toEqual({
      total: 1,
      totalIsExact: true,
      emails: ["edge@join.io"],
    });
  });

  it("never matches across the end of the email and the start of the name", async () => {
    // The index's text is email, U+0001, name: a term holding the separator must find nothing.
    for (const query of ["join.io\u0001xy", "io\u0001xy zed", "io xy"]) {
      const p = await page({ filter: { query } });
      expect({ query, total: p.total, items: p.items.length }).toEqual({ query, total: 0, items: 0 });
    }
  });

  it("counts exactly 10,000 matches, by substring, by prefix and without a term, in users and usersConnection", async () => {
    for (const filter of [{ query: "capfrag" }, { query: "@cap.test" }, { query: "ca", role: "USER" }]) {
      const p = await page({ filter, size: 20, sortBy: "EMAIL", sortOrder: "ASC" });
      expect({ filter, total: p.total, totalIsExact: p.totalIsExact, pages: p.pages }).toEqual({ filter, total: 10_000, totalIsExact: true, pages: 500 });
      expect(p.items.map((u) => u.email)).toEqual(Array.from({ length: 20 }, (_, i) => capEmail(i + 1)));
      const c = await connection({ filter, first: 3 });
      expect({ totalCount: c.totalCount, totalCountIsExact: c.totalCountIsExact }).toEqual({ totalCount: 10_000, totalCountIsExact: true });
    }
    // The last page, and the one after it.
    const last = await page({ filter: { query: "capfrag" }, page: 500, size: 20, sortBy: "EMAIL", sortOrder: "ASC" });
    expect(last.items.map((u) => u.email).at(-1)).toBe(capEmail(10_000));
    const past = await page({ filter: { query: "capfrag" }, page: 501, size: 20 });
    expect({ total: past.total, totalIsExact: past.totalIsExact, items: past.items.length }).toEqual({ total: 10_000, totalIsExact: true, items: 0 });
  });

  it("resolves totalCountIsExact alone", async () => {
    const res = await t.gql<{ usersConnection: { totalCountIsExact: boolean } }>(ONLY_EXACT, { filter: { query: "capfrag" } }, { token: admin.accessToken });
    expect(res.body.data!.usersConnection.totalCountIsExact).toBe(true);
  });
});

describe("totals above the cap", () => {
  beforeAll(async () => {
    await seedCapUsers(EXACT_TOTAL_LIMIT + 1, 2_000);
    await t.gql(USERS, {}, { token: admin.accessToken }).catch(() => undefined); // a fresh connection (see above)
  }, 120_000);

  it("estimates the total of 12,000 matches (at least 10,001), with totalIsExact false, and still pages exactly", async () => {
    for (const filter of [{ query: "capfrag" }, { query: "cap.test" }, { query: "ca" }, { includeDeleted: true }]) {
      const p = await page({ filter, size: 20, sortBy: "EMAIL", sortOrder: "ASC" });
      expect({ filter, totalIsExact: p.totalIsExact }).toEqual({ filter, totalIsExact: false });
      expect(p.total).toBeGreaterThan(EXACT_TOTAL_LIMIT);
      expect(p.pages).toBe(Math.ceil(p.total / 20));
      const c = await connection({ filter, first: 3 });
      expect(c.totalCountIsExact).toBe(false);
      expect(c.totalCount).toBeGreaterThan(EXACT_TOTAL_LIMIT);
    }
    // The pages are read from all the matches, not from the first 10,001 the count saw.
    const first = await page({ filter: { query: "capfrag" }, size: 20, sortBy: "EMAIL", sortOrder: "DESC" });
    expect(first.items.map((u) => u.email)).toEqual(Array.from({ length: 20 }, (_, i) => capEmail(12_000 - i)));
    const deep = await page({ filter: { query: "capfrag" }, page: 551, size: 20, sortBy: "EMAIL", sortOrder: "ASC" });
    expect(deep.items.map((u) => u.email)).toEqual(Array.from({ length: 20 }, (_, i) => capEmail(11_001 + i)));
    const c = await connection({ filter: { query: "capfrag" }, first: 3 });
    expect(c.edges.map((e) => e.node.email)).toEqual([capEmail(1), capEmail(2), capEmail(3)]);
  });

  it("keeps a filter that narrows back under the cap exact", async () => {
    const p = await page({ filter: { query: "capfrag.0119" } });
    expect({ total: p.total, totalIsExact: p.totalIsExact }).toEqual({ total: 100, totalIsExact: true });
  });
});
