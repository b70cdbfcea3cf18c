import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWTPayload, type JWTHeaderParameters } from "jose";
import { signUp, type TestUser } from "./support/flows.js";
import { ageSigningKeys, meOutcome, wellKnown } from "./support/signing-keys.js";
import { TEST_JWT_SECRET, startTestServer, type TestServer } from "./support/server.js";

/*
 * Verification pins ES256 and takes the key by kid from our own set only (API.md §9): every header
 * that would let a token pick its key, its algorithm or its type is refused, through HTTP.
 */

let t: TestServer;
let alice: TestUser;
let ourKid: string;
let attacker: Awaited<ReturnType<typeof generateKeyPair>>;
beforeAll(async () => {
  t = await startTestServer();
  alice = await signUp(t);
  ourKid = (((await wellKnown(t, "jwks.json")).body["keys"] as Array<{ kid: string }>)[0]!).kid;
  attacker = await generateKeyPair("ES256", { extractable: true });
});
afterAll(async () => {
  await t?.close();
});

const INVALID = "UNAUTHENTICATED:INVALID_TOKEN";

/** Alice's genuine claims, fresh. */
function claims(): JWTPayload {
  const iat = Math.floor(Date.now() / 1000);
  return { ...decodeJwt(alice.accessToken), iat, exp: iat + 300, jti: randomUUID() };
}

const signed = (header: JWTHeaderParameters, key: Parameters<SignJWT["sign"]>[0]) => new SignJWT(claims()).setProtectedHeader(header).sign(key);
const ours = () => t.deps.keys.signer()!;
const unsigned = (header: object) => `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${alice.accessToken.split(".")[1]}.`;

describe("header tricks", () => {
  it("accepts a token signed with our current key as the control", async () => {
    expect(await meOutcome(t, await signed({ alg: "ES256", kid: ours().kid, typ: "at+jwt" }, ours().key))).toBe("accepted");
  });

  it("refuses an attacker's key under our kid, an unknown kid and no kid", async () => {
    expect(await meOutcome(t, await signed({ alg: "ES256", kid: ourKid, typ: "at+jwt" }, attacker.privateKey))).toBe(INVALID);
    expect(await meOutcome(t, await signed({ alg: "ES256", kid: "not-a-key-of-ours", typ: "at+jwt" }, ours().key))).toBe(INVALID);
    expect(await meOutcome(t, await signed({ alg: "ES256", typ: "at+jwt" }, ours().key))).toBe(INVALID);
  });

  it("refuses jku, jwk, x5u and x5c, even beside our kid and a valid signature of our key", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const attackerSigned = await signed({ alg: "ES256", typ: "at+jwt", jwk }, attacker.privateKey);
    expect(await meOutcome(t, attackerSigned)).toBe(INVALID);
    const base = { alg: "ES256", kid: ours().kid, typ: "at+jwt" };
    for (const extra of [{ jku: `${t.url}/.well-known/jwks.json` }, { jwk }, { x5u: "https://evil.example/cert.pem" }, { x5c: ["MIIB"] }]) {
      expect(await meOutcome(t, await signed({ ...base, ...extra }, ours().key)), Object.keys(extra)[0]).toBe(INVALID);
    }
  });

  it("refuses alg none, HS256 keyed with our public key, and a token of another type", async () => {
    expect(await meOutcome(t, unsigned({ alg: "none", kid: ourKid, typ: "at+jwt" }))).toBe(INVALID);
    const [publicJwk] = (await wellKnown(t, "jwks.json")).body["keys"] as object[];
    for (const secret of [JSON.stringify(publicJwk), ourKid]) {
      expect(await meOutcome(t, await signed({ alg: "HS256", kid: ourKid, typ: "at+jwt" }, new TextEncoder().encode(secret)))).toBe(INVALID);
    }
    expect(await meOutcome(t, await signed({ alg: "ES256", kid: ours().kid, typ: "JWT" }, ours().key))).toBe(INVALID);
    expect(await meOutcome(t, await signed({ alg: "ES256", kid: ours().kid }, ours().key))).toBe(INVALID);
  });
});

describe("switching from HS256 to ES256 (API.md §9)", () => {
  it("keeps accepting HS256 tokens signed with JWT_SECRET for one access-token TTL after the switch, then refuses them", async () => {
    const hs = await startTestServer({ env: { JWT_ALGORITHM: "HS256" } });
    const es = await startTestServer({ testDb: hs.testDb });
    try {
      const bob = await signUp(hs);
      expect(await meOutcome(hs, bob.accessToken)).toBe("accepted");
      // The ES256 instance made its first key just now (the switch): Bob's token still works there, twice (cached).
      expect(await meOutcome(es, bob.accessToken)).toBe("accepted");
      expect(await meOutcome(es, bob.accessToken)).toBe("accepted");
      // A token forged with another secret is no HS256 token of ours.
      const forged = await new SignJWT(decodeJwt(bob.accessToken)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(`${TEST_JWT_SECRET}x`));
      expect(await meOutcome(es, forged)).toBe(INVALID);
      // One access-token TTL after the switch, HS256 is over, cached verification or not.
      await ageSigningKeys(es, es.config.jwt.accessTtl + 1);
      await es.deps.keys.reload();
      expect(await meOutcome(es, bob.accessToken)).toBe(INVALID);
      expect(await meOutcome(es, (await signUp(es)).accessToken)).toBe("accepted");
    } finally {
      await es.close();
      await hs.close();
    }
  });
});
