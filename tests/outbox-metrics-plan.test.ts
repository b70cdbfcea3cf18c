import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import { openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import * as schema from "../src/db/schema.js";
import { createMetrics, FAILED_WINDOW_DAYS } from "../src/observability/metrics.js";
import { backend, createPostgresDatabase } from "./support/database.js";

/*
 * Each scrape reads the outbox gauges. With 200,000 sent emails kept in the table, the scrape's real
 * query (captured from drizzle as the gauges run it) must read email_outbox_unsent_idx only, never the
 * table's rows (nor the sent rows of any index). Plans, not timings; PostgreSQL only, as in admin-scale.test.ts.
 */
const SENT = 200_000;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}
const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

describe.runIf(backend === "postgres")(`the outbox gauges at ${SENT.toLocaleString("en")} sent emails`, () => {
  let drop: () => Promise<void>;
  let client: postgres.Sql;
  const captured: Array<{ sql: string; params: unknown[] }> = [];
  let db: Db;

  beforeAll(async () => {
    const created = await createPostgresDatabase();
    drop = created.drop;
    const database = await openDatabase({ url: created.url, max: 2 });
    await runMigrations(database, created.url);
    await database.close();
    client = postgres(created.url, { max: 1, onnotice: () => {} });
    const insert = (n: number, status: string, age: string) =>
      client.unsafe(`
        insert into email_outbox (template, to_address, subject, text_body, status, created_at, sent_at)
        select 'verify', 'user' || g || '@example.com', 'Subject', null, '${status}', now() - ${age} - g * interval '1 second',
               case when '${status}' = 'SENT' then now() else null end
        from generate_series(1, ${n}) g`);
    await insert(SENT, "SENT", "interval '1 day'");
    await insert(40, "PENDING", "interval '10 minutes'");
    await insert(25, "FAILED", `interval '${FAILED_WINDOW_DAYS + 3} days'`); // given up long ago: outside the window
    await insert(12, "FAILED", "interval '2 days'");
    await client.unsafe("analyze email_outbox");
    db = drizzle(client, { schema, logger: { logQuery: (sql: string, params: unknown[]) => captured.push({ sql, params }) } }) as unknown as Db;
  }, 180_000);

  afterAll(async () => {
    await client?.end();
    await drop?.();
  });

  it("reads only partial indexes of unsent rows (email_outbox_unsent_idx for failures), and counts the recent failures", async () => {
    const metrics = createMetrics({ db, pool: undefined });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^gatehouse_outbox_pending 40$/m);
    expect(text).toMatch(/^gatehouse_outbox_failed 12$/m);
    expect(Number(/^gatehouse_outbox_oldest_pending_age_seconds (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(600);

    const outboxQueries = captured.filter((q) => q.sql.includes("email_outbox"));
    expect(outboxQueries).toHaveLength(1);
    const [row] = await client.unsafe(`explain (format json) ${outboxQueries[0]!.sql}`, outboxQueries[0]!.params as postgres.ParameterOrJSON<never>[]);
    const plan = flatten((row as unknown as { "QUERY PLAN": Array<{ Plan: PlanNode }> })["QUERY PLAN"][0]!.Plan);
    const reads = plan.filter((n) => n["Relation Name"] === "email_outbox");
    expect(reads).toHaveLength(3);
    // Both partial indexes leave the sent rows out: the worker's (PENDING only) may serve the pending
    // parts; the failures have only email_outbox_unsent_idx.
    for (const node of reads) {
      expect(node["Node Type"]).toMatch(/^Index( Only)? Scan$/);
      expect(["email_outbox_unsent_idx", "email_outbox_due_idx"]).toContain(node["Index Name"]);
    }
    expect(reads.map((n) => n["Index Name"])).toContain("email_outbox_unsent_idx");
  });
});
