import { spawnSync } from "node:child_process";
import { hash as argon2Hash } from "@node-rs/argon2";
import { describe, expect, it } from "vitest";
import { createArgon2Hasher, defaultHashThreads, MAX_DEFAULT_HASH_THREADS, PRODUCTION_ARGON2 } from "../src/auth/password.js";

describe("argon2 hasher", () => {
  it("verifies what it hashed and refuses other passwords and malformed hashes", async () => {
    const hasher = createArgon2Hasher({ memoryCost: 256, timeCost: 1, parallelism: 1 });
    const stored = await hasher.hash("correct horse battery staple");
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=256,t=1,p=1\$/);
    const results = await Promise.all([
      hasher.verify(stored, "correct horse battery staple"),
      hasher.verify(stored, "correct horse battery stapler"),
      hasher.verify("not-a-hash", "correct horse battery staple"),
    ]);
    expect(results).toEqual([true, false, false]);
  });

  it("hashes with the production parameters it is given", async () => {
    const hasher = createArgon2Hasher(PRODUCTION_ARGON2);
    expect(await hasher.hash("correct horse battery staple")).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.dummyHash()).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("runs one hash thread per core by default, at most eight", () => {
    expect(defaultHashThreads(1)).toBe(1);
    expect(defaultHashThreads(2)).toBe(2);
    expect(defaultHashThreads(8)).toBe(8);
    // 19 MiB per hash in flight: a 64-core host (or a container that sees its cores) holds 152 MiB, not 1.2 GiB.
    expect(defaultHashThreads(64)).toBe(MAX_DEFAULT_HASH_THREADS);
    expect(MAX_DEFAULT_HASH_THREADS).toBe(8);
  });

  it("hashes off libuv's thread pool, so WebCrypto (JWTs), fs and DNS never queue behind a hash", async () => {
    // libuv's four threads are all taken by long hashes of @node-rs/argon2's own async calls (tens of
    // passes: each holds its thread far longer than the cheap hash below). A hash of the hasher runs all
    // the same and is done before any of them. On libuv's pool, as before, it queued behind all four.
    const hasher = createArgon2Hasher({ memoryCost: 256, timeCost: 1, parallelism: 1 });
    await hasher.hash("warm the hash threads");
    const order: string[] = [];
    const slow = { algorithm: 2 as const, memoryCost: 19456, timeCost: 40, parallelism: 1 };
    const taken = Array.from({ length: 4 }, (_, i) => argon2Hash(`holds a libuv thread ${i}`, slow).then(() => order.push(`libuv ${i}`)));
    const ours = hasher.hash("correct horse battery staple").then(() => order.push("hasher"));
    await Promise.all([...taken, ours]);
    expect(order[0]).toBe("hasher");
    expect(order).toHaveLength(5);
  });

  it("keeps no process alive once its hashes are done (a CLI exits)", () => {
    // A process that hashes once and returns: the idle hash threads must not hold it open.
    const script = [
      'import { createArgon2Hasher } from "./src/auth/password.ts";',
      "const hasher = createArgon2Hasher({ memoryCost: 256, timeCost: 1, parallelism: 1 });",
      'console.log(await hasher.verify(await hasher.hash("correct horse battery staple"), "correct horse battery staple"));',
    ].join("\n");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe("true");
  });
});
