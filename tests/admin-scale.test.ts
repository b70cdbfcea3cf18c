import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserFilter, UserSortField } from "../src/admin/admin.types.js";
import { listAuditEvents } from "../src/admin/audit-log.service.js";
import { encodeCursor, sliceUsers } from "../src/admin/users-connection.service.js";
import { listUsers } from "../src/admin/users-query.service.js";
import type { Db } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { openDatabase } from "../src/db/client.js";
import * as schema from "../src/db/schema.js";
import { backend, createPostgresDatabase } from "./support/database.js";

/*
 * Scale: 100,000 users seeded with SQL, then the plans of the real queries (captured from drizzle
 * as the services run them) must read indexes, never scan the users table. Plans, not timings.
 * PostgreSQL only: PGlite's planner sees the same indexes but this is about the production engine.
 */
const SEED = 100_000;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

interface Captured {
  sql: string;
  params: unknown[];
}

describe.runIf(backend === "postgres")(`admin queries at ${SEED.toLocaleString("en")} users`, () => {
  let url: string;
  let drop: () => Promise<void>;
  let client: postgres.Sql;
  let captured: Captured[] = [];
  let db: Db;

  beforeAll(async () => {
    ({ url, drop } = await createPostgresDatabase());
    const database = await openDatabase({ url, max: 2 });
    await runMigrations(database, url);
    await database.close();
    client = postgres(url, { max: 1, onnotice: () => {} });
    // Plans follow statistics, so make them the same every run. ANALYZE samples 300 x the statistics
    // target rows at random; at 1000 that is the whole table (below). Autovacuum stays off, before the
    // inserts, so that no auto-analyze with another sample lands between two tests.
    await client.unsafe("alter table users set (autovacuum_enabled = off)");
    await client.unsafe("alter table audit_events set (autovacuum_enabled = off)");
    await client.unsafe(`
      insert into users (email, full_name, password_hash, role, is_active, email_verified, created_at, last_login_at, deleted_at)
      select
        'user' || g || '@' || (array['example.com','mail.test','corp.example'])[1 + g % 3],
        (array['Alice','Bob','Carol','Dmitri','Eve','Farah','Grace','Hiro','Ines','Jamal'])[1 + g % 10] || ' ' ||
        (array['Smith','Jones','Garcia','Müller','Okafor','Tanaka','Rossi','Novak','Silva','Kowalski'])[1 + (g / 10) % 10] || ' ' || g,
        'x',
        (case when g % 50 = 0 then 'ADMIN' else 'USER' end)::user_role,
        g % 10 <> 0,
        g % 3 <> 0,
        now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second',
        case when g % 4 = 0 then null else now() - (g % 90) * interval '1 day' end,
        case when g % 100 = 7 then now() else null end
      from generate_series(1, ${SEED}) g`);
    await client.unsafe(`
      insert into audit_events (action, actor_id, target_id, at)
      select (array['user.login','user.login_failed','admin.user_updated'])[1 + (u.n + k) % 3], u.id, u.id, u.created_at + k * interval '1 hour'
      from (select id, created_at, row_number() over () as n from users) u cross join generate_series(1, 2) as k`);
    // See the autovacuum note above: statistics from the whole table, the same every run.
    await client.unsafe("set default_statistics_target = 1000");
    await client.unsafe("analyze");
    db = drizzle(client, {
      schema,
      logger: { logQuery: (sql: string, params: unknown[]) => captured.push({ sql, params }) },
    }) as unknown as Db;
  }, 180_000);

  afterAll(async () => {
    await client?.end();
    await drop?.();
  });

  /** Every node of the plan of every query `run` makes, one list per query, in order (`analyze`: with actual row counts). */
  async function plansOf(run: () => Promise<unknown>, options: { analyze?: boolean } = {}): Promise<PlanNode[][]> {
    captured = [];
    await run();
    const plans: PlanNode[][] = [];
    // The estimate of a total above the cap is an EXPLAIN itself: not a query to plan.
    for (const q of captured.filter((c) => !/^explain/i.test(c.sql))) {
      const explain = options.analyze ? "explain (analyze, format json)" : "explain (format json)";
      const [row] = await client.unsafe(`${explain} ${q.sql}`, q.params as postgres.ParameterOrJSON<never>[]);
      const [root] = (row as unknown as { "QUERY PLAN": Array<{ Plan: PlanNode }> })["QUERY PLAN"];
      plans.push(flatten(root!.Plan));
    }
    return plans;
  }

  const seqScanOn = (table: string) => (plan: PlanNode[]) => plan.some((n) => n["Node Type"] === "Seq Scan" && n["Relation Name"] === table);
  const seqScanOnUsers = seqScanOn("users");
  const indexNames = (plan: PlanNode[]) => plan.flatMap((n) => (n["Index Name"] ? [n["Index Name"]] : []));

  /** How each node that reads users does: an index's name, or the node type. */
  const usersReads = (plan: PlanNode[]) => plan.filter((n) => n["Relation Name"] === "users").map((n) => n["Index Name"] ?? n["Node Type"]);

  const bitmapScans = (plan: PlanNode[]) => plan.filter((n) => n["Node Type"] === "Bitmap Index Scan").map((n) => n["Index Name"]);

  for (const [query, label] of [
    ["4242", "a rare 4-character fragment (in 11 emails and 11 names)"],
    ["42@", "a 3-character fragment in 1,000 emails"],
  ] as const) {
    it(`answers ${label} with one statement: one scan of the one trigram index serves page and total (PostgreSQL)`, async () => {
      const run = () => listUsers(db, { filter: { query }, page: 1, size: 20, sortBy: "CREATED_AT", sortOrder: "DESC" });
      const plans = await plansOf(run, { analyze: true });
      expect(plans).toHaveLength(1);
      expect(seqScanOnUsers(plans[0]!)).toBe(false);
      expect(bitmapScans(plans[0]!)).toEqual(["users_search_trgm_idx"]);
      // The table is read twice: the bitmap scan's matches, and the page's rows (at most 20) by primary key.
      expect(usersReads(plans[0]!)).toEqual(["Bitmap Heap Scan", "users_pkey"]);
      expect(plans[0]!.find((n) => n["Index Name"] === "users_pkey")!["Actual Loops"]).toBeLessThanOrEqual(20);
      expect((await run()).totalIsExact).toBe(true);
    });
  }

  it("answers a long, rare fragment with one query: one trigram scan serves the page and the total", async () => {
    // "user4242@" is one address out of 100,000.
    const plans = await plansOf(() => listUsers(db, { filter: { query: "user4242@" }, page: 1, size: 20, sortBy: "EMAIL", sortOrder: "ASC" }));
    expect(plans).toHaveLength(1);
    expect(seqScanOnUsers(plans[0]!)).toBe(false);
    expect(indexNames(plans[0]!)).toEqual(["users_search_trgm_idx", "users_pkey"]);
    expect(usersReads(plans[0]!)).toEqual(["Bitmap Heap Scan", "users_pkey"]);
  });

  it("finds a fragment with a word after a separator through the words index alone, in one statement (PostgreSQL)", async () => {
    // In "smith 4242", '4242' follows a space: every match has a word starting with it (names end in their
    // number), and 11 rows do (4242, 42420..42429), where the trigram '424' alone is in over 300.
    const run = () => listUsers(db, { filter: { query: "smith 4242" }, page: 1, size: 20, sortBy: "CREATED_AT", sortOrder: "DESC" });
    const plans = await plansOf(run, { analyze: true });
    expect(plans).toHaveLength(1);
    expect(bitmapScans(plans[0]!)).toEqual(["users_search_words_idx"]);
    expect(seqScanOnUsers(plans[0]!)).toBe(false);
    expect(plans[0]!.find((n) => n["Index Name"] === "users_search_words_idx")!["Actual Rows"]).toBeLessThanOrEqual(11);
  });

  it("stops counting a common fragment at 10,001 matches, then pages it along the sort index and estimates the total", async () => {
    // "mail.test" is in a third of all addresses: the capped statement reads 10,001 of them (a third of the
    // table: the planner may rightly read it in order), the page walks the sort index and finds 20 at once, and
    // the total is the planner's estimate (an EXPLAIN, which plansOf leaves out).
    const run = () => listUsers(db, { filter: { query: "mail.test" }, page: 1, size: 20, sortBy: "CREATED_AT", sortOrder: "DESC" });
    const plans = await plansOf(run, { analyze: true });
    expect(plans).toHaveLength(2);
    const [capped, items] = plans;
    expect(capped!.find((n) => n["Node Type"] === "Limit" && n["Actual Rows"] === 10_001)).toBeDefined();
    expect(seqScanOnUsers(items!)).toBe(false);
    expect(indexNames(items!)).toContain("users_created_at_id_idx");
    const page = await run();
    expect(page.totalIsExact).toBe(false);
    // 33,333 match; the estimate comes from statistics of the whole table (see beforeAll).
    expect(page.total).toBeGreaterThan(10_000);
    expect(page.total).toBeLessThan(100_000);
  });

  it("matches a 2-character query by prefix through the prefix indexes", async () => {
    const [items, total] = await plansOf(() => listUsers(db, { filter: { query: "gr" }, page: 1, size: 20, sortBy: "EMAIL", sortOrder: "ASC" }));
    expect(seqScanOnUsers(items!)).toBe(false);
    expect(indexNames(items!).length).toBeGreaterThan(0);
    expect(seqScanOnUsers(total!)).toBe(false);
    expect(indexNames(total!)).toEqual(expect.arrayContaining(["users_email_prefix_idx", "users_full_name_prefix_idx"]));
  });

  const sorts: Array<[UserSortField, string]> = [
    ["CREATED_AT", "users_created_at_id_idx"],
    ["EMAIL", "users_email_id_idx"],
    ["FULL_NAME", "users_full_name_id_idx"],
    ["LAST_LOGIN_AT", "user_login_order_key_idx"],
    ["ROLE", "users_role_id_idx"],
  ];
  for (const [sortBy, index] of sorts) {
    for (const sortOrder of ["ASC", "DESC"] as const) {
      it(`pages sorted by ${sortBy} ${sortOrder} read ${index}, first and deep keyset pages alike`, async () => {
        const [page] = await plansOf(() => listUsers(db, { page: 1, size: 20, sortBy, sortOrder }));
        expect(indexNames(page!)).toContain(index);
        expect(seqScanOnUsers(page!)).toBe(false);

        // A cursor far into the list, then the plan of the page after it.
        const first = await sliceUsers(db, { first: 100, sortBy, sortOrder });
        const [deep] = await plansOf(() => sliceUsers(db, { first: 20, after: first.rows.at(-1)!.cursor, sortBy, sortOrder }));
        expect(indexNames(deep!)).toContain(index);
        expect(seqScanOnUsers(deep!)).toBe(false);
        // The cursor is a seek condition on the index, not a filter applied after reading.
        expect(deep!.some((n) => n["Index Name"] === index && /^\(ROW\(/.test(n["Index Cond"] ?? ""))).toBe(true);
      });
    }
  }

  // The sort keys as sliceUsers writes them into cursors, to take a position from the middle of the table.
  const keyText: Record<UserSortField, string> = {
    CREATED_AT: "created_at::text",
    EMAIL: "email::text",
    FULL_NAME: "lower(full_name)",
    LAST_LOGIN_AT: "coalesce(last_login_at, '-infinity'::timestamptz)::text",
    ROLE: "role::text",
  };
  for (const [sortBy, index] of sorts) {
    for (const sortOrder of ["ASC", "DESC"] as const) {
      it(`pages backward sorted by ${sortBy} ${sortOrder} from mid-table as one seek into ${index}, probes alike (PostgreSQL)`, async () => {
        const [mid] = await client.unsafe<Array<{ key: string; id: string }>>(
          `select ${keyText[sortBy]} as key, id from users where deleted_at is null order by 1 ${sortOrder}, 2 ${sortOrder} offset ${SEED / 2} limit 1`,
        );
        const cursor = encodeCursor({ sortBy, sortOrder, key: mid!.key, id: mid!.id });
        const seeks = (plan: PlanNode[]) => plan.some((n) => n["Index Name"] === index && /^\(ROW\(/.test(n["Index Cond"] ?? ""));

        // Half the table before the cursor, and the page reads last + 1 = 21 index entries of it, unsorted.
        const [back] = await plansOf(() => sliceUsers(db, { last: 20, before: cursor, sortBy, sortOrder }), { analyze: true });
        expect(seeks(back!)).toBe(true);
        expect(seqScanOnUsers(back!)).toBe(false);
        expect(back!.some((n) => n["Node Type"] === "Sort")).toBe(false);
        expect(back!.find((n) => n["Index Name"] === index)!["Actual Rows"]).toBeLessThanOrEqual(21 + 1);
        // From the far end (no cursor): the same index, read from the other side.
        const [tail] = await plansOf(() => sliceUsers(db, { last: 20, sortBy, sortOrder }));
        expect(indexNames(tail!)).toContain(index);
        expect(tail!.some((n) => n["Node Type"] === "Sort")).toBe(false);

        // The flag probes: the page, then one index entry on the other side of the cursor.
        const probes = async () => {
          await (await sliceUsers(db, { first: 20, after: cursor, sortBy, sortOrder })).hasPreviousPage();
          await (await sliceUsers(db, { last: 20, before: cursor, sortBy, sortOrder })).hasNextPage();
        };
        const plans = await plansOf(probes, { analyze: true });
        expect(plans).toHaveLength(4);
        for (const probe of [plans[1]!, plans[3]!]) {
          expect(seeks(probe)).toBe(true);
          expect(probe.some((n) => n["Node Type"] === "Sort")).toBe(false);
          expect(probe.find((n) => n["Index Name"] === index)!["Actual Rows"]).toBe(1);
        }
      });
    }
  }

  const filters: Array<[string, UserFilter]> = [
    ["role", { role: "ADMIN" }],
    ["isActive", { isActive: false }],
    ["emailVerified", { emailVerified: true }],
    ["created range", { createdAfter: new Date(Date.now() - 30 * 86400_000), createdBefore: new Date(Date.now() - 10 * 86400_000) }],
    ["everything at once", { query: "garci", role: "USER", isActive: true, emailVerified: true, includeDeleted: true }],
  ];
  for (const [name, filter] of filters) {
    it(`filters by ${name} without scanning the table`, async () => {
      const [items] = await plansOf(() => listUsers(db, { filter, page: 1, size: 20, sortBy: "CREATED_AT", sortOrder: "DESC" }));
      expect(seqScanOnUsers(items!)).toBe(false);
      expect(indexNames(items!).length).toBeGreaterThan(0);
    });
  }

  it("reads the audit log newest first through its indexes", async () => {
    const [some] = await db.select({ id: schema.users.id }).from(schema.users).limit(1);
    for (const filter of [{}, { actorId: some!.id }, { action: "user.login" }, { targetId: some!.id }]) {
      const [items] = await plansOf(() => listAuditEvents(db, filter, 3, 50));
      expect(seqScanOn("audit_events")(items!)).toBe(false);
      expect(indexNames(items!).some((n) => n?.startsWith("audit_events_"))).toBe(true);
    }
  });
});
