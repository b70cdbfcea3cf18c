import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { PGlite } from "@electric-sql/pglite";
import { citext } from "@electric-sql/pglite/contrib/citext";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { sql, type SQL } from "drizzle-orm";
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";

/** One type for both drivers: services never know which one they run on. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** What a query helper accepts: the database, or a transaction already under way. */
export type Queryable = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly kind: "pglite" | "postgres";
  /** postgres.js: the pool's size and the application_name its connections carry (for pool metrics). */
  readonly pool?: { readonly max: number; readonly applicationName: string };
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres://… uses PostgreSQL through postgres.js. */
  url?: string | undefined;
  /** PGlite data directory; undefined keeps the database in memory (tests). */
  dataDir?: string | undefined;
  /** postgres.js pool size. */
  max?: number;
  /** Called with the text of every statement sent (tests that count a request's statements). */
  onQuery?: (sql: string) => void;
}

/** The postgres.js client behind a Db opened by openDatabase, for the one hot statement that runs on it directly. */
const postgresClients = new WeakMap<Db, postgres.Sql>();

/** undefined for PGlite, or for a Db not opened by openDatabase. */
export function postgresClientOf(db: Db): postgres.Sql | undefined {
  return postgresClients.get(db);
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url) {
    const max = options.max ?? 10;
    // Unique per process, so pg_stat_activity can tell this pool's connections from other instances'.
    const applicationName = `gatehouse:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const client = postgres(options.url, {
      max,
      connection: { application_name: applicationName },
      // While the database is unreachable, a request fails (SERVICE_UNAVAILABLE) within seconds
      // instead of hanging; the pool reconnects by itself on the next query once it is back.
      connect_timeout: 3,
      idle_timeout: 60,
      // "extension already exists" and the like are not worth a log line.
      onnotice: () => {},
      ...(options.onQuery ? { debug: (_connection: number, query: string) => options.onQuery!(query) } : {}),
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    postgresClients.set(db, client);
    const database: Database = {
      db,
      kind: "postgres",
      pool: { max, applicationName },
      ping: async () => {
        await client`select 1`;
      },
      close: async () => {
        await client.end({ timeout: 5 });
      },
    };
    return database;
  }

  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const client = new PGlite({ dataDir: options.dataDir, extensions: { citext, pg_trgm } });
  await client.waitReady;
  const onQuery = options.onQuery;
  const db = drizzlePglite(client, { schema, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

const dialect = new PgDialect();

/**
 * Runs a statement written with drizzle's `sql` as a named prepared statement of postgres.js: parsed and
 * planned once per pooled connection instead of on every call, which is what drizzle's `db.execute` does
 * (an unnamed statement each time). For a hot statement whose text never varies, only its parameters: the
 * login statement's parse and plan were 0.4 ms of the 0.65 ms of PostgreSQL CPU it took. Inside a
 * transaction, and on PGlite, it is `db.execute`.
 */
export async function executePrepared<T>(db: Queryable, query: SQL): Promise<T[]> {
  const client = postgresClientOf(db as Db);
  if (!client) return rowsOf<T>(await db.execute(query));
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })) as unknown as T[];
}

/** `db.execute` returns `{ rows }` on PGlite and an array on postgres.js. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
