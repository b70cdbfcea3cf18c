import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, rowsOf, type Database } from "../src/db/client.js";
import { migrationsFolder, runMigrations } from "../src/db/migrate.js";
import { backend, createPostgresDatabase, createTestDatabase } from "./support/database.js";

const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };

async function appliedCount(database: Database): Promise<number> {
  const rows = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
  return rows[0]!.n;
}

describe("migrations", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it("apply every migration once and are idempotent", async () => {
    const testDb = await createTestDatabase();
    cleanups.push(testDb.drop);
    await runMigrations(testDb.database, testDb.url);
    await runMigrations(testDb.database, testDb.url);
    expect(await appliedCount(testDb.database)).toBe(journal.entries.length);
    const ext = rowsOf<{ extname: string }>(
      await testDb.database.db.execute(sql`select extname from pg_extension where extname in ('citext', 'pg_trgm') order by extname`),
    );
    expect(ext.map((e) => e.extname)).toEqual(["citext", "pg_trgm"]);
  });

  it.runIf(backend === "postgres")("are safe when several instances start at the same moment (advisory lock)", async () => {
    const { url, drop } = await createPostgresDatabase();
    const instances = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url, max: 2 })));
    cleanups.push(async () => {
      for (const i of instances) await i.close();
      await drop();
    });
    await Promise.all(instances.map((i) => runMigrations(i, url)));
    expect(await appliedCount(instances[0]!)).toBe(journal.entries.length);
  });
});
