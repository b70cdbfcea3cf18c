import { describe, expect, it } from "vitest";
import { createArgon2Hasher, defaultHashConcurrency, PRODUCTION_ARGON2 } from "../src/auth/password.js";

describe("argon2 hasher", () => {
  it("verifies what it hashed and refuses other passwords and malformed hashes", async () => {
    const hasher = createArgon2Hasher({ memoryCost: 256, timeCost: 1, parallelism: 1 }, 1);
    const stored = await hasher.hash("correct horse battery staple");
    const results = await Promise.all([
      hasher.verify(stored, "correct horse battery staple"),
      hasher.verify(stored, "correct horse battery stapler"),
      hasher.verify("not-a-hash", "correct horse battery staple"),
    ]);
    expect(results).toEqual([true, false, false]);
  });

  it("runs one hash per core plus one by default, and leaves a pool thread free", () => {
    expect(defaultHashConcurrency(2, 4)).toBe(3);
    expect(defaultHashConcurrency(1, 4)).toBe(2);
    // libuv's default pool of four caps it: one thread stays free whatever the core count.
    expect(defaultHashConcurrency(8, 4)).toBe(3);
    expect(defaultHashConcurrency(8, 16)).toBe(9);
    expect(defaultHashConcurrency(4, 2)).toBe(1);
    // A pool of one thread has none to spare: hashing still runs, one at a time.
    expect(defaultHashConcurrency(4, 1)).toBe(1);
  });

  it("leaves libuv's thread pool free for WebCrypto (JWTs) while hashes queue", async () => {
    // Production parameters and the default limit: each hash takes milliseconds. With at most one
    // fewer hash than pool threads at a time, an HMAC asked for after eight hashes runs on the free
    // thread and is done before the first hash. Without the limit it would wait behind four hashes.
    const hasher = createArgon2Hasher(PRODUCTION_ARGON2);
    const order: string[] = [];
    const hashes = Array.from({ length: 8 }, (_, i) => hasher.hash(`password number ${i}`).then(() => order.push(`hash ${i}`)));
    const key = await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const hmac = crypto.subtle.sign("HMAC", key, new Uint8Array(64)).then(() => order.push("hmac"));
    await Promise.all([...hashes, hmac]);
    expect(order[0]).toBe("hmac");
    expect(order).toHaveLength(9);
  });
});
