import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { signingKeys } from "../src/db/schema.js";
import { isSealed } from "../src/lib/sealed.js";
import { signUp } from "./support/flows.js";
import { meOutcome, wellKnown } from "./support/signing-keys.js";
import { startTestServer, type TestServer } from "./support/server.js";

/* ES256 by default, the JWKS holds public members only, and it alone verifies our tokens. */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe("the JWKS (ES256, the default)", () => {
  it("publishes exactly kty, crv, x, y, kid, alg and use of each key, no private member, cacheable for 300 s", async () => {
    const res = await wellKnown(t, "jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    // Public data: a verifier running in a browser or an edge runtime may fetch it from any origin.
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const keys = res.body["keys"] as Array<Record<string, unknown>>;
    expect(keys).toHaveLength(1);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
  });

  it("keeps the private key sealed at rest, bound to its kid", async () => {
    const rows = await t.deps.db.select().from(signingKeys);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(isSealed(row!.privateKey)).toBe(true);
    expect(row!.privateKey).not.toContain("PRIVATE KEY");
    expect(Object.keys(row!.publicJwk).sort()).toEqual(["crv", "kty", "x", "y"]);
  });

  it("verifies an access token with nothing but the served JWKS: issuer, audience, typ at+jwt, role and email_verified", async () => {
    const user = await signUp(t);
    const header = decodeProtectedHeader(user.accessToken);
    const { body } = await wellKnown(t, "jwks.json");
    expect(header).toEqual({ alg: "ES256", typ: "at+jwt", kid: (body["keys"] as Array<{ kid: string }>)[0]!.kid });
    const remote = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const options = { issuer: "gatehouse", audience: "gatehouse", typ: "at+jwt", algorithms: ["ES256"] };
    const { payload } = await jwtVerify(user.accessToken, remote, options);
    expect(payload).toMatchObject({ sub: user.id, role: "USER", email_verified: false });
    // The same from a copy of the document, as a service that bundles it would.
    await expect(jwtVerify(user.accessToken, createLocalJWKSet(body as unknown as JSONWebKeySet), options)).resolves.toBeTruthy();
    expect(await meOutcome(t, user.accessToken)).toBe("accepted");
  });

  it("is announced by /.well-known/openid-configuration with the tokens' issuer", async () => {
    const res = await wellKnown(t, "openid-configuration");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ issuer: "gatehouse", jwks_uri: `${t.url}/.well-known/jwks.json` });
  });
});

describe("the discovery document with PUBLIC_URL", () => {
  it("points jwks_uri at the configured public origin, not the request's", async () => {
    const s = await startTestServer({ env: { PUBLIC_URL: "https://auth.example.com/", JWT_ISSUER: "https://auth.example.com" } });
    try {
      expect((await wellKnown(s, "openid-configuration")).body).toEqual({
        issuer: "https://auth.example.com",
        jwks_uri: "https://auth.example.com/.well-known/jwks.json",
      });
    } finally {
      await s.close();
    }
  });
});

describe("HS256 mode (JWT_ALGORITHM=HS256)", () => {
  it("publishes an empty JWKS, makes no keys, and signs HS256 tokens as before", async () => {
    const s = await startTestServer({ env: { JWT_ALGORITHM: "HS256" } });
    try {
      expect((await wellKnown(s, "jwks.json")).body).toEqual({ keys: [] });
      expect(await s.deps.db.select().from(signingKeys)).toEqual([]);
      const user = await signUp(s);
      expect(decodeProtectedHeader(user.accessToken)).toEqual({ alg: "HS256", typ: "JWT" });
      expect(await meOutcome(s, user.accessToken)).toBe("accepted");
      // An ES256 server's token means nothing here.
      expect(await meOutcome(s, (await signUp(t)).accessToken)).toBe("UNAUTHENTICATED:INVALID_TOKEN");
    } finally {
      await s.close();
    }
  });
});

describe("an instance whose ENCRYPTION_SECRET opens no signing key", () => {
  it("still verifies, but answers logins SERVICE_UNAVAILABLE (not a 500) and /readyz 503, so a balancer routes around it", async () => {
    const alice = await signUp(t);
    const other = await startTestServer({ testDb: t.testDb, env: { ENCRYPTION_SECRET: "a-different-encryption-secret-of-32-bytes+" } });
    try {
      // Tokens the first instance signed verify here: the public key needs no secret.
      expect(await meOutcome(other, alice.accessToken)).toBe("accepted");
      const login = await other.gql<{ login: { accessToken: string } }>(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        { i: { email: alice.email, password: alice.password } },
      );
      expect(login.body.errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
      const ready = await fetch(`${other.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks["signing"]).toBe("unavailable");
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
