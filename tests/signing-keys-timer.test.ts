import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { revokeKey } from "../src/auth/keys/rotation.service.js";
import { signingKeys } from "../src/db/schema.js";
import { signUp } from "./support/flows.js";
import { createKeyClock, meOutcome, publishedKids } from "./support/signing-keys.js";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * The key set's own timer (a minute in production, 50 ms here): it rotates when JWT_KEY_ROTATION is due
 * and re-reads the set, which is what bounds a revocation's reach without Redis. Two instances, no Redis.
 */

let a: TestServer;
let b: TestServer;
const clock = createKeyClock();
beforeAll(async () => {
  a = await startTestServer({ now: clock.now, keySetReloadMs: 50 });
  b = await startTestServer({ now: clock.now, keySetReloadMs: 50, testDb: a.testDb });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

/** Polls until `check` holds (the next timer ticks); fails after 5 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the key set's timer", () => {
  it("rotates once JWT_KEY_ROTATION is due, one key for both instances, published on both", async () => {
    const [k1] = await publishedKids(a);
    clock.advance(a.config.jwt.keyRotation);
    await eventually(async () => (await publishedKids(b)).length === 2 && (await publishedKids(a)).length === 2);
    // Let a few more ticks of both run: still one new key (the rotation is no longer due).
    await new Promise((r) => setTimeout(r, 300));
    expect(await a.deps.db.select().from(signingKeys)).toHaveLength(2);
    expect(await publishedKids(a)).toContain(k1);
  });

  it("carries a revocation made elsewhere to the other instance at its next re-read, without Redis", async () => {
    const user = await signUp(b);
    expect(await meOutcome(b, user.accessToken)).toBe("accepted");
    await revokeKey(a.deps, decodeProtectedHeader(user.accessToken).kid as string);
    // No announcement (no Redis, and a.deps.keys.changed() not called): B's timer finds it.
    await eventually(async () => (await meOutcome(b, user.accessToken)) === "UNAUTHENTICATED:INVALID_TOKEN");
  });
});
