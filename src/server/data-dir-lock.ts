import { mkdirSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";

/**
 * PGlite is a single-process database: two processes writing one data directory corrupt it. The
 * server and the CLI take this lock (refreshed while they run, stale after a crash) before opening it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  try {
    return await lockfile.lock(dataDir, { lockfilePath: join(dataDir, "pglite.lock"), stale: 15_000, update: 5_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new Error(
        `Another Gatehouse process is using the embedded database in ${dataDir}; stop it first (or set DATABASE_URL to share PostgreSQL)`,
        { cause: err },
      );
    }
    throw err;
  }
}
