import { sql, type SQL } from "drizzle-orm";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Database } from "../db/client.js";
import { rowsOf } from "../db/client.js";
import type { Metrics } from "../deps.js";

/** gatehouse_outbox_failed counts failures this recent: given-up rows are kept, so an all-time count only grows. */
export const FAILED_WINDOW_DAYS = 7;

/**
 * The outbox gauges' one query per scrape. Each part reads email_outbox_unsent_idx (migration 0006):
 * a range of (status, created_at) entries, never the sent rows that make up most of the table.
 */
export function outboxGaugesQuery(): SQL {
  return sql`select
    (select count(*) from email_outbox where status = 'PENDING')::int as pending,
    (select count(*) from email_outbox
      where status = 'FAILED' and created_at > now() - make_interval(days => ${sql.raw(String(FAILED_WINDOW_DAYS))}))::int as failed,
    coalesce(extract(epoch from now() - (select min(created_at) from email_outbox where status = 'PENDING')), 0)::float8 as oldest`;
}

/**
 * One registry per app instance (tests run several in one process). Outbox gauges are read from the
 * database when Prometheus scrapes, so every instance reports the shared outbox the same way.
 */
export function createMetrics(database: Pick<Database, "db" | "pool">): Metrics {
  const { db } = database;
  const registry = new Registry();
  // Standard names (process_*, nodejs_*), so stock Node.js dashboards and alerts work; ours say gatehouse_.
  collectDefaultMetrics({ register: registry });
  const metrics: Metrics = {
    registry,
    requestDuration: new Histogram({
      name: "gatehouse_graphql_request_duration_seconds",
      help: "GraphQL requests by root field (the first one of the operation; other when it is none of the schema's) and outcome (OK or the first error code).",
      labelNames: ["operation", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: "gatehouse_graphql_errors_total",
      help: "GraphQL errors returned, by extensions.code.",
      labelNames: ["code"],
      registers: [registry],
    }),
    logins: new Counter({
      name: "gatehouse_logins_total",
      help: "Login attempts by result (success or failure).",
      labelNames: ["result"],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "gatehouse_rate_limited_total",
      help: "Calls refused by a rate limit, by limit name.",
      labelNames: ["limit"],
      registers: [registry],
    }),
  };

  let outbox: Promise<{ pending: number; failed: number; oldest: number }> | undefined;
  // The three gauges share one query per scrape.
  const readOutbox = () =>
    (outbox ??= db
      .execute(outboxGaugesQuery())
      .then((r) => rowsOf<{ pending: number; failed: number; oldest: number }>(r)[0] ?? { pending: 0, failed: 0, oldest: 0 })
      .finally(() => setTimeout(() => (outbox = undefined), 0)));
  const gauge = (name: string, help: string, pick: (o: { pending: number; failed: number; oldest: number }) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set(Number(pick(await readOutbox())));
        } catch {
          // Database away: leave the last value; /readyz says why.
        }
      },
    });
  gauge("gatehouse_outbox_pending", "Emails waiting to be sent.", (o) => o.pending);
  gauge(
    "gatehouse_outbox_failed",
    `Emails given up (after 24 h or a final provider refusal) among those created in the last ${FAILED_WINDOW_DAYS} days.`,
    (o) => o.failed,
  );
  gauge("gatehouse_outbox_oldest_pending_age_seconds", "Age of the oldest email still waiting.", (o) => o.oldest);

  const pool = database.pool;
  if (pool) {
    new Gauge({ name: "gatehouse_db_pool_max", help: "Connections this instance's pool may open.", registers: [registry] }).set(pool.max);
    // Read from PostgreSQL itself (postgres.js exposes no pool statistics): this instance's
    // connections by state; the scrape's own query counts as one active connection.
    new Gauge({
      name: "gatehouse_db_pool_connections",
      help: "This instance's open database connections, by state (active, idle, idle in transaction).",
      labelNames: ["state"],
      registers: [registry],
      async collect() {
        try {
          const rows = rowsOf<{ state: string | null; n: number }>(
            await db.execute(
              sql`select state, count(*)::int as n from pg_stat_activity where application_name = ${pool.applicationName} group by state`,
            ),
          );
          this.reset();
          for (const r of rows) this.set({ state: r.state ?? "unknown" }, Number(r.n));
        } catch {
          // Database away: /readyz says so.
        }
      },
    });
  }
  return metrics;
}
