import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { backend } from "./support/database.js";
import { signUp } from "./support/flows.js";
import { meOutcome, publishedKids } from "./support/signing-keys.js";
import { TEST_JWT_SECRET, startTestServer, type TestServer } from "./support/server.js";

/*
 * `npm run cli -- rotate-keys | revoke-key <kid>` against a running instance on the same PostgreSQL and
 * Redis (PGlite's directory cannot be shared with a running server): the server learns over pub/sub.
 */

const run = promisify(execFile);
const REDIS_URL = process.env.TEST_REDIS_URL;

describe.runIf(backend === "postgres" && !!REDIS_URL)("the key commands of the CLI (PostgreSQL)", () => {
  let t: TestServer;
  const prefix = `test:${randomUUID()}:`;
  beforeAll(async () => {
    t = await startTestServer({ env: { REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const cli = (args: string[]) =>
    run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      env: { ...process.env, NODE_ENV: "test", JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: t.testDb.url!, REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix },
      cwd: join(import.meta.dirname, ".."),
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("rotate-keys publishes a new key on the running server; revoke-key refuses the old key's tokens there at once", { timeout: 120_000 }, async () => {
    const user = await signUp(t);
    const current = decodeProtectedHeader(user.accessToken).kid as string;

    const rotated = await cli(["rotate-keys"]);
    expect(rotated.code, rotated.out).toBe(0);
    const next = /New signing key (\S+):/.exec(rotated.out)?.[1];
    expect(next).toBeDefined();
    await eventually(async () => (await publishedKids(t)).length === 2);
    expect(await publishedKids(t)).toEqual([current, next!].sort());
    expect(await meOutcome(t, user.accessToken)).toBe("accepted");

    const revoked = await cli(["revoke-key", current]);
    expect(revoked.code, revoked.out).toBe(0);
    await eventually(async () => (await meOutcome(t, user.accessToken)) === "UNAUTHENTICATED:INVALID_TOKEN");
    expect(await publishedKids(t)).toEqual([next]);

    expect(await cli(["revoke-key", current])).toMatchObject({ code: 1, out: expect.stringMatching(/No unrevoked signing key/) });
    expect(await cli(["revoke-key"])).toMatchObject({ code: 1, out: expect.stringMatching(/needs the kid/) });
    expect((await cli(["list-keys"])).out).toMatch(new RegExp(`${next}.*revoked -`));
  });
});
