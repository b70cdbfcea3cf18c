import { and, asc, count, desc, eq, getTableColumns, gte, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { rowsOf, type Queryable } from "../db/client.js";
import type { PgSelect } from "drizzle-orm/pg-core";
import { userLoginOrder, users, type UserRow } from "../db/schema.js";
import { parsePage, toPage, type Page } from "../lib/paging.js";
import type { SortOrder, UserFilter, UserSortField } from "./admin.types.js";
import { substringCondition } from "./users-search.js";

/** Terms shorter than a trigram match prefixes (see users_*_prefix_idx). */
const MIN_SUBSTRING_TERM = 3;

/**
 * The sort key of each field: `expr` computes it from a users row (what a cursor holds); `key` and `id` are
 * the columns of the (key, id) index an ordered walk reads (migration 0003; LAST_LOGIN_AT's lives in
 * user_login_order, migration 0011, whose row the triggers keep equal to `expr`).
 */
export const SORT_KEY: Record<UserSortField, { expr: SQL; key: SQL; id: SQL; type: string; joinsLoginOrder?: true }> = {
  CREATED_AT: { expr: sql`${users.createdAt}`, key: sql`${users.createdAt}`, id: sql`${users.id}`, type: "timestamptz" },
  EMAIL: { expr: sql`${users.email}`, key: sql`${users.email}`, id: sql`${users.id}`, type: "citext" },
  FULL_NAME: { expr: sql`lower(${users.fullName})`, key: sql`lower(${users.fullName})`, id: sql`${users.id}`, type: "text" },
  LAST_LOGIN_AT: {
    expr: sql`coalesce(${users.lastLoginAt}, '-infinity'::timestamptz)`,
    key: sql`${userLoginOrder.lastLoginAt}`,
    id: sql`${userLoginOrder.userId}`,
    type: "timestamptz",
    joinsLoginOrder: true,
  },
  ROLE: { expr: sql`${users.role}`, key: sql`${users.role}`, id: sql`${users.id}`, type: "user_role" },
};

/**
 * A select from users, with user_login_order joined when the sort walks its index. Every caller names its
 * columns, so the join leaves the rows' shape as it is (the cast says so to the compiler).
 */
export function withSortTable<T extends PgSelect>(query: T, sortBy: UserSortField): T {
  if (!SORT_KEY[sortBy].joinsLoginOrder) return query;
  return query.innerJoin(userLoginOrder, eq(userLoginOrder.userId, users.id)) as unknown as T;
}

/** The smallest string greater than every string starting with `prefix` (null when there is none). */
function nextPrefix(prefix: string): string | null {
  const chars = [...prefix];
  while (chars.length > 0) {
    const code = chars.pop()!.codePointAt(0)! + 1;
    // Skip the surrogate block: a lone surrogate is not valid text for PostgreSQL.
    if (code <= 0x10ffff) return chars.join("") + String.fromCodePoint(code >= 0xd800 && code <= 0xdfff ? 0xe000 : code);
  }
  return null;
}

/** Every filter of UserFilter, combinable; deleted users only with includeDeleted. */
export function userWhere(filter: UserFilter | null | undefined): SQL | undefined {
  const f = filter ?? {};
  const conditions: (SQL | undefined)[] = [];
  const term = f.query?.trim().toLowerCase();
  if (term && term.length >= MIN_SUBSTRING_TERM) {
    conditions.push(substringCondition(term));
  } else if (term) {
    // A prefix as an explicit range of text_pattern_ops operators: unlike LIKE 'ab%', it can use the
    // prefix index even when the term is a bind parameter (generic plans of prepared statements).
    const upper = nextPrefix(term);
    const inRange = (col: SQL) => (upper ? sql`(${col} ~>=~ ${term} and ${col} ~<~ ${upper})` : sql`${col} ~>=~ ${term}`);
    conditions.push(or(inRange(sql`lower(${users.email}::text)`), inRange(sql`lower(${users.fullName})`)));
  }
  if (f.role) conditions.push(eq(users.role, f.role));
  if (f.isActive != null) conditions.push(eq(users.isActive, f.isActive));
  if (f.emailVerified != null) conditions.push(eq(users.emailVerified, f.emailVerified));
  if (f.createdAfter) conditions.push(gte(users.createdAt, f.createdAfter));
  if (f.createdBefore) conditions.push(lt(users.createdAt, f.createdBefore));
  if (!f.includeDeleted) conditions.push(isNull(users.deletedAt));
  return and(...conditions);
}

/**
 * ORDER BY for an ordered walk (a select made by withSortTable): the key, then id, both in `sortOrder` (the
 * direction the (key, id) index reads either way).
 */
export function orderBy(sortBy: UserSortField, sortOrder: SortOrder): SQL[] {
  const dir = sortOrder === "ASC" ? asc : desc;
  // Ties broken by id: the order is total, so pages never repeat or skip a user.
  return [dir(SORT_KEY[sortBy].key), dir(SORT_KEY[sortBy].id)];
}

/** Up to this many matches a total is counted; above it, it is the planner's estimate (API.md: totalIsExact). */
export const EXACT_TOTAL_LIMIT = 10_000;

/** A number of matching users, and whether it was counted (up to EXACT_TOTAL_LIMIT) or estimated. */
export interface UserTotal {
  total: number;
  exact: boolean;
}

export type UserPage = Page<UserRow> & { totalIsExact: boolean };

/** Offset pages with a total: exact up to EXACT_TOTAL_LIMIT matches, estimated above (the admin table view). */
export async function listUsers(
  db: Queryable,
  args: { filter?: UserFilter | null; page: number; size: number; sortBy: UserSortField; sortOrder: SortOrder },
): Promise<UserPage> {
  const request = parsePage(args.page, args.size);
  const { size, offset } = request;
  const where = userWhere(args.filter);
  const order = orderBy(args.sortBy, args.sortOrder);
  const page = (rows: UserRow[], t: UserTotal): UserPage => ({ ...toPage(rows, t.total, request), totalIsExact: t.exact });
  // async, so that the page is sent before whatever runs beside it (the order the plan tests capture).
  const pageRows = async () =>
    await withSortTable(db.select(getTableColumns(users)).from(users).$dynamic(), args.sortBy)
      .where(where)
      .orderBy(...order)
      .limit(size)
      .offset(offset);
  if (hasSubstringTerm(args.filter)) {
    const found = await searchPage(db, where, args.sortBy, args.sortOrder, size, offset);
    if (found.count > EXACT_TOTAL_LIMIT) {
      // More matches than the cap: the capped set is only a part of them, so the page is read from the table.
      const [rows, estimate] = await Promise.all([pageRows(), estimateTotal(db, where)]);
      return page(rows, { total: estimate, exact: false });
    }
    if (found.rows.length > 0 || offset === 0) return page(found.rows, { total: found.count, exact: true });
    // A page past the end of the capped set has no row to carry the count: read it as any other filter.
  }
  // The page walks the sort index (or the planner's better plan) and stops after `size` rows; the
  // count stops at the cap. Two queries in parallel beat one that visits every match to sort it.
  const [rows, t] = await Promise.all([pageRows(), totalWhere(db, where)]);
  return page(rows, t);
}

function hasSubstringTerm(filter: UserFilter | null | undefined): boolean {
  return (filter?.query?.trim().length ?? 0) >= MIN_SUBSTRING_TERM;
}

/**
 * A substring search finds its rows with a trigram bitmap scan, whose cost grows with the number of
 * matches. The page and the count share that one scan: at most EXACT_TOTAL_LIMIT + 1 matches are
 * materialised once, as (id, sort key) only, then counted and sorted; the page's rows are then read by id.
 * Past the cap the set is only a part of the matches; `count` then says EXACT_TOTAL_LIMIT + 1 and the
 * caller reads the page another way.
 * ("mar", 10% of 1M users, used to take 210 ms as a page walk plus an exact count of 100,000 rows; "42@",
 * 10,000 matches at 1M, took 85 ms end to end when the set held the full rows.)
 */
async function searchPage(db: Queryable, where: SQL | undefined, sortBy: UserSortField, sortOrder: SortOrder, size: number, offset: number) {
  const dir = sortOrder === "ASC" ? asc : desc;
  const matches = db
    .$with("matches")
    .as(db.select({ id: users.id, key: sql`${SORT_KEY[sortBy].expr}`.as("key") }).from(users).where(where).limit(EXACT_TOTAL_LIMIT + 1));
  const ids = db.select().from(matches).orderBy(dir(matches.key), dir(matches.id)).limit(size).offset(offset).as("page");
  const found = await db
    .with(matches)
    .select({ ...getTableColumns(users), count: sql<string>`(select count(*) from ${matches})`.as("total") })
    .from(ids)
    .innerJoin(users, eq(users.id, ids.id))
    .orderBy(dir(ids.key), dir(ids.id));
  const count = found.length > 0 ? Number(found[0]!.count) : 0;
  return { rows: found.map(({ count: _, ...row }) => row as UserRow), count };
}

/** Counts the matches up to the cap; past it, takes the planner's estimate (never below the cap + 1). */
async function totalWhere(db: Queryable, where: SQL | undefined): Promise<UserTotal> {
  const capped = db
    .select({ one: sql`1` })
    .from(users)
    .where(where)
    .limit(EXACT_TOTAL_LIMIT + 1)
    .as("capped");
  const [row] = await db.select({ n: count() }).from(capped);
  const n = Number(row?.n ?? 0);
  return n <= EXACT_TOTAL_LIMIT ? { total: n, exact: true } : { total: await estimateTotal(db, where), exact: false };
}

/**
 * The total of a filter known to match more than EXACT_TOTAL_LIMIT users: the planner's row estimate
 * (EXPLAIN only plans, so it costs what planning costs), never below what was counted.
 */
async function estimateTotal(db: Queryable, where: SQL | undefined): Promise<number> {
  const result = await db.execute(sql`explain (format json) select 1 from ${users} where ${where ?? sql`true`}`);
  const [row] = rowsOf<{ "QUERY PLAN": unknown }>(result);
  const raw = row?.["QUERY PLAN"];
  const plan = (typeof raw === "string" ? JSON.parse(raw) : raw) as Array<{ Plan: { "Plan Rows": number } }>;
  return Math.max(EXACT_TOTAL_LIMIT + 1, Math.round(plan[0]?.Plan["Plan Rows"] ?? 0));
}

/** The total of usersConnection's totalCount: exact up to EXACT_TOTAL_LIMIT, as in listUsers. */
export function countUsers(db: Queryable, filter: UserFilter | null | undefined): Promise<UserTotal> {
  return totalWhere(db, userWhere(filter));
}
