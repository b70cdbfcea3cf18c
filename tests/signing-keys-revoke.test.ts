import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { revokeKey, rotateKeys } from "../src/auth/keys/rotation.service.js";
import { logIn, signUp } from "./support/flows.js";
import { meOutcome, publishedKids } from "./support/signing-keys.js";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * revoke-key (API.md §9): a compromised key is refused at once, on the instance that revoked it and on
 * the other one: told over Redis when REDIS_URL is set, else at its next re-read of the key set.
 */

const REDIS_URL = process.env.TEST_REDIS_URL;
const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const INVALID = "UNAUTHENTICATED:INVALID_TOKEN";

async function twoInstances(env: Record<string, string> = {}): Promise<[TestServer, TestServer]> {
  const a = await startTestServer({ env });
  const b = await startTestServer({ env, testDb: a.testDb });
  return [a, b];
}

/** Polls until `check` holds (a Redis message is on its way); fails after 5 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("revoking the signing key", () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    [a, b] = await twoInstances();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("refuses its tokens at once here, on the other instance after its re-read, and signs with a new key from now", async () => {
    const user = await signUp(a);
    const k1 = kidOf(user.accessToken);
    // Verified (and cached) on both before the revocation.
    expect(await meOutcome(a, user.accessToken)).toBe("accepted");
    expect(await meOutcome(b, user.accessToken)).toBe("accepted");

    const result = await revokeKey(a.deps, k1);
    expect(result!.signer).not.toBe(k1);
    await a.deps.keys.changed();
    expect(await meOutcome(a, user.accessToken)).toBe(INVALID);
    expect(await publishedKids(a)).toEqual([result!.signer]);
    // No Redis here: B learns at its periodic re-read (KEY_SET_RELOAD_MS), which the test runs now.
    await b.deps.keys.reload();
    expect(await meOutcome(b, user.accessToken)).toBe(INVALID);

    // A compromise cannot wait for publish-before-sign: the replacement signs at once, on both.
    const again = await logIn(b, user.email, user.password);
    expect(kidOf(again.accessToken)).toBe(result!.signer);
    expect(await meOutcome(a, again.accessToken)).toBe("accepted");
  });

  it("promotes the published next key when the current one is revoked during a rotation", async () => {
    const next = (await rotateKeys(a.deps, { force: true }))!.kid;
    await a.deps.keys.changed();
    const current = a.deps.keys.signer()!.kid;
    expect(current).not.toBe(next);
    expect((await revokeKey(a.deps, current))!.signer).toBe(next);
    await a.deps.keys.changed();
    const user = await signUp(a);
    expect(kidOf(user.accessToken)).toBe(next);
  });

  it("answers null for an unknown or already revoked kid", async () => {
    expect(await revokeKey(a.deps, randomUUID())).toBeNull();
  });
});

describe.runIf(!!REDIS_URL)("revoking with Redis", () => {
  it("is refused on the other instance as soon as the pub/sub message arrives, with no re-read of its own", async () => {
    const [a, b] = await twoInstances({ REDIS_URL: REDIS_URL!, REDIS_PREFIX: `test:${randomUUID()}:` });
    try {
      const user = await signUp(a);
      expect(await meOutcome(b, user.accessToken)).toBe("accepted");
      await revokeKey(a.deps, kidOf(user.accessToken));
      await a.deps.keys.changed();
      await eventually(async () => (await meOutcome(b, user.accessToken)) === INVALID);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
