import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { users } from "../src/db/schema.js";
import { bootstrapAdmin } from "../src/admin/create-admin.service.js";
import { auditRows } from "./support/audit.js";
import { logIn, signUp } from "./support/flows.js";
import { STRONG_PASSWORD, TEST_JWT_SECRET, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

const run = promisify(execFile);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.reset();
});

/** The same deps as the test server, with BOOTSTRAP_ADMIN_* set. */
function withBootstrap(env: Record<string, string>) {
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_JWT_SECRET, ...env });
  return { ...t.deps, config };
}

describe("BOOTSTRAP_ADMIN_*", () => {
  it("creates the admin when none exists, once, and the admin can log in", async () => {
    const email = uniqueEmail("boot");
    const deps = withBootstrap({ BOOTSTRAP_ADMIN_EMAIL: email, BOOTSTRAP_ADMIN_PASSWORD: STRONG_PASSWORD, BOOTSTRAP_ADMIN_NAME: "Root" });
    await bootstrapAdmin(deps);
    await bootstrapAdmin(deps);
    const rows = await t.deps.db.select().from(users);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email, fullName: "Root", role: "ADMIN", isActive: true, emailVerified: true });
    const tokens = await logIn(t, email, STRONG_PASSWORD);
    const me = await t.gql<{ me: { role: string } }>("{ me { role } }", undefined, { token: tokens.accessToken });
    expect(me.body.data?.me.role).toBe("ADMIN");
    const events = await auditRows(t, { action: "admin.created" });
    expect(events).toHaveLength(1);
  });

  it("does nothing when an active admin already exists", async () => {
    await signUp(t, { role: "ADMIN" });
    await bootstrapAdmin(withBootstrap({ BOOTSTRAP_ADMIN_EMAIL: uniqueEmail("boot"), BOOTSTRAP_ADMIN_PASSWORD: STRONG_PASSWORD }));
    expect(await t.deps.db.select().from(users).where(eq(users.role, "ADMIN"))).toHaveLength(1);
  });

  it("refuses a weak password, naming the variable", async () => {
    await expect(
      bootstrapAdmin(withBootstrap({ BOOTSTRAP_ADMIN_EMAIL: uniqueEmail("boot"), BOOTSTRAP_ADMIN_PASSWORD: "password1" })),
    ).rejects.toThrow(/BOOTSTRAP_ADMIN_PASSWORD/);
    expect(await t.deps.db.select().from(users)).toHaveLength(0);
  });

  it("never promotes an account someone registered with that address", async () => {
    const squatter = await signUp(t);
    await expect(
      bootstrapAdmin(withBootstrap({ BOOTSTRAP_ADMIN_EMAIL: squatter.email, BOOTSTRAP_ADMIN_PASSWORD: STRONG_PASSWORD })),
    ).rejects.toThrow(/non-admin account/);
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, squatter.id));
    expect(row!.role).toBe("USER");
  });
});

describe("npm run cli", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));
  const env = { ...process.env, NODE_ENV: "test", JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: dataDir };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      env: { ...env, ...(t.testDb.url ? { DATABASE_URL: t.testDb.url } : {}), ...extra },
      cwd: join(import.meta.dirname, ".."),
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  /** The CLI's database: PostgreSQL is shared with the test server; PGlite lives in DATA_DIR (never open while the CLI runs). */
  async function withCliDb<T>(fn: (db: Database["db"]) => Promise<T>): Promise<T> {
    if (t.testDb.url) return fn(t.deps.db);
    const database = await openDatabase({ dataDir: join(dataDir, "pglite") });
    try {
      return await fn(database.db);
    } finally {
      await database.close();
    }
  }

  it("migrates, creates an admin with the password from ADMIN_PASSWORD, and refuses argv passwords", { timeout: 120_000 }, async () => {
    expect(await cli(["migrate"])).toMatchObject({ code: 0, out: expect.stringMatching(/up to date/) });

    const email = uniqueEmail("cli");
    const created = await cli(["create-admin", "--email", email, "--name", "Cli Admin"], { ADMIN_PASSWORD: STRONG_PASSWORD });
    expect(created).toMatchObject({ code: 0, out: expect.stringMatching(/Created admin/) });

    const again = await cli(["create-admin", "--email", email, "--name", "Cli Admin"], { ADMIN_PASSWORD: STRONG_PASSWORD });
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/already an admin/) });

    const weak = await cli(["create-admin", "--email", uniqueEmail("cli"), "--name", "Weak"], { ADMIN_PASSWORD: "password" });
    expect(weak).toMatchObject({ code: 1, out: expect.stringMatching(/password: Password is too weak/) });

    const argv = await cli(["create-admin", "--email", uniqueEmail("cli"), "--name", "X", "--password", STRONG_PASSWORD]);
    expect(argv).toMatchObject({ code: 1, out: expect.stringMatching(/never taken from the command line/) });

    const [row] = await withCliDb((db) => db.select().from(users).where(eq(users.email, email)));
    expect(row).toMatchObject({ role: "ADMIN", fullName: "Cli Admin", isActive: true });
  });

  it("promotes an existing account with --promote, and says so when there is none", { timeout: 120_000 }, async () => {
    const email = uniqueEmail("promote");
    await withCliDb((db) => db.insert(users).values({ email, fullName: "Later Admin", passwordHash: "x", isActive: false }));
    const res = await cli(["create-admin", "--email", email, "--promote"]);
    expect(res).toMatchObject({ code: 0, out: expect.stringMatching(/now an active admin/) });
    const [row] = await withCliDb((db) => db.select().from(users).where(eq(users.email, email)));
    expect(row).toMatchObject({ role: "ADMIN", isActive: true });
    const missing = await cli(["create-admin", "--email", uniqueEmail("ghost"), "--promote"]);
    expect(missing).toMatchObject({ code: 1, out: expect.stringMatching(/No account with that email/) });
  });
});
