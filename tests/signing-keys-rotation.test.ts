import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { PUBLISH_LEAD_SECONDS, rotateKeys } from "../src/auth/keys/rotation.service.js";
import { signingKeys } from "../src/db/schema.js";
import { backend } from "./support/database.js";
import { logIn, signUp, type TestUser } from "./support/flows.js";
import { createKeyClock, meOutcome, publishedKids } from "./support/signing-keys.js";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * Rotation across two instances on one database (API.md §9): the new key is published before it signs,
 * tokens of the old key stay accepted until they have expired, then the old key leaves the JWKS. Both
 * instances share one injected clock (deps.now); each re-reads the key set as its timer would.
 */

let a: TestServer;
let b: TestServer;
const clock = createKeyClock();
beforeAll(async () => {
  a = await startTestServer({ now: clock.now });
  b = await startTestServer({ now: clock.now, testDb: a.testDb });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const reloadBoth = () => Promise.all([a.deps.keys.reload(), b.deps.keys.reload()]);

describe("rotation end to end across two instances", () => {
  it("publishes the new key first, signs with it after the lead, and keeps the old key until its tokens expired", async () => {
    const user: TestUser = await signUp(a);
    const [k1] = await publishedKids(a);
    expect(kidOf(user.accessToken)).toBe(k1);
    expect(await publishedKids(b)).toEqual([k1]);

    const rotation = await rotateKeys(a.deps, { force: true });
    const k2 = rotation!.kid;
    expect(rotation!.signsFrom.getTime()).toBe(clock.now() + PUBLISH_LEAD_SECONDS * 1000);
    await a.deps.keys.changed();
    await b.deps.keys.reload();
    // Published on both at once, but nobody signs with it yet: verifiers' cached JWKS may not hold it.
    for (const t of [a, b]) expect(await publishedKids(t)).toEqual([k1, k2].sort());
    expect(kidOf((await logIn(b, user.email, user.password)).accessToken)).toBe(k1);
    clock.advance(PUBLISH_LEAD_SECONDS - 1);
    expect(kidOf((await logIn(a, user.email, user.password)).accessToken)).toBe(k1);

    // From signs_from on, both sign with the new key; the old key's tokens are still accepted on both.
    clock.advance(1);
    const fresh = await logIn(a, user.email, user.password);
    expect(kidOf(fresh.accessToken)).toBe(k2);
    expect(kidOf((await logIn(b, user.email, user.password)).accessToken)).toBe(k2);
    for (const t of [a, b]) {
      expect(await meOutcome(t, user.accessToken)).toBe("accepted");
      expect(await meOutcome(t, fresh.accessToken)).toBe("accepted");
    }

    // Published until every token it signed has expired (one access TTL after it stopped signing).
    clock.advance(a.config.jwt.accessTtl - 1);
    await reloadBoth();
    for (const t of [a, b]) expect(await publishedKids(t)).toEqual([k1, k2].sort());
    clock.advance(1);
    await reloadBoth();
    for (const t of [a, b]) {
      expect(await publishedKids(t)).toEqual([k2]);
      // Still cached as verified on both: the key's end ends the cache entry too.
      expect(await meOutcome(t, user.accessToken)).toBe("UNAUTHENTICATED:INVALID_TOKEN");
      expect(await meOutcome(t, fresh.accessToken)).toBe("accepted");
    }
  });

  it("rotates automatically only once the newest key is JWT_KEY_ROTATION old", async () => {
    const before = (await a.deps.db.select().from(signingKeys)).length;
    expect(await rotateKeys(b.deps, { force: false })).toBeNull();
    const newest = Math.max(...(await a.deps.db.select().from(signingKeys)).map((k) => k.createdAt.getTime()));
    clock.advance((newest + a.config.jwt.keyRotation * 1000 - clock.now()) / 1000);
    expect(await rotateKeys(b.deps, { force: false })).not.toBeNull();
    expect(await rotateKeys(a.deps, { force: false })).toBeNull();
    expect((await a.deps.db.select().from(signingKeys)).length).toBe(before + 1);
  });

  it.runIf(backend === "postgres")("makes one key when both instances find a rotation due at the same moment (PostgreSQL)", async () => {
    clock.advance(a.config.jwt.keyRotation);
    const before = (await a.deps.db.select().from(signingKeys)).length;
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => rotateKeys(a.deps, { force: false })),
      ...Array.from({ length: 4 }, () => rotateKeys(b.deps, { force: false })),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await a.deps.db.select().from(signingKeys)).length).toBe(before + 1);
  });
});
