import { fileURLToPath } from "node:url";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import postgres from "postgres";
import type { Database } from "./client.js";

/** Resolved from this file, not the working directory: src/db and dist/db both sit two levels below. */
export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** Any constant will do as long as every Gatehouse instance uses the same one. */
const MIGRATION_LOCK_KEY = 7_260_431_177;

/**
 * Applies pending migrations; a no-op when there are none. On PostgreSQL the run holds a session
 * advisory lock on a dedicated connection (drizzle's migrator takes none), so instances that start at
 * the same moment apply each migration once, one after the other.
 */
export async function runMigrations(database: Database, url?: string): Promise<void> {
  if (database.kind === "pglite") {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  if (!url) throw new Error("runMigrations: the PostgreSQL URL is required");
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
