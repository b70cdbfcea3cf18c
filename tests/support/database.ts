import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { openDatabase, type Database } from "../../src/db/client.js";

export type Backend = "pglite" | "postgres";

export const backend: Backend = process.env.GATEHOUSE_TEST_BACKEND === "postgres" ? "postgres" : "pglite";

export interface TestDatabase {
  database: Database;
  /** The PostgreSQL URL of this file's own database; undefined on PGlite. */
  url: string | undefined;
  drop(): Promise<void>;
}

/** A PostgreSQL URL for a brand-new, empty database, and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("TEST_DATABASE_URL is not set");
  const name = `gatehouse_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = postgres(base, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** A fresh, empty (unmigrated) database for one test file on the selected backend. */
export async function createTestDatabase(options: { onQuery?: (sql: string) => void } = {}): Promise<TestDatabase> {
  if (backend === "pglite") {
    const database = await openDatabase({ ...options });
    return { database, url: undefined, drop: () => database.close() };
  }
  const { url, drop } = await createPostgresDatabase();
  const database = await openDatabase({ url, max: 10, ...options });
  return {
    database,
    url,
    drop: async () => {
      await database.close();
      await drop();
    },
  };
}
