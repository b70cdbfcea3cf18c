import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { SignJWT, decodeJwt, decodeProtectedHeader, type JWTPayload } from "jose";
import { sessions, users } from "../src/db/schema.js";
import { LOGIN, onlyError, signUp, type TestUser } from "./support/flows.js";
import { TEST_JWT_SECRET, startTestServer, type GqlOptions, type GqlResponse, type TestServer } from "./support/server.js";

const ME = /* GraphQL */ `
  query Me { me { id email role isActive } }
`;
const LOGOUT_ALL = /* GraphQL */ `
  mutation { logoutAll }
`;

interface MeView {
  id: string;
  email: string;
  role: "USER" | "ADMIN";
  isActive: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The messages of src/errors.ts and src/auth/authenticate.ts, each with its extensions.reason (API.md §6).
type Refusal = [message: string, reason: string];
const NO_TOKEN: Refusal = ["Authentication required: send Authorization: Bearer <accessToken>", "NO_TOKEN"];
const MALFORMED: Refusal = ["Malformed Authorization header: expected Bearer <accessToken>", "INVALID_TOKEN"];
const INVALID: Refusal = ["Invalid access token", "INVALID_TOKEN"];
const EXPIRED: Refusal = ["Access token expired", "TOKEN_EXPIRED"];
const NO_SESSION: Refusal = ["Session is no longer valid; log in again", "SESSION_REVOKED"];
const INACTIVE: Refusal = ["This account is no longer active", "ACCOUNT_INACTIVE"];

let t: TestServer;
let alice: TestUser;
beforeAll(async () => {
  // HS256 mode, which keeps today's tokens (API.md §9); ES256 has tests/signing-keys-*.test.ts.
  t = await startTestServer({ env: { JWT_ALGORITHM: "HS256" } });
  alice = await signUp(t);
});
afterAll(async () => {
  await t?.close();
});

const meWith = (options: GqlOptions): Promise<GqlResponse<{ me: MeView }>> => t.gql<{ me: MeView }>(ME, undefined, options);

function expectRefused(res: GqlResponse<{ me: MeView }>, [message, reason]: Refusal): void {
  expect(res.body.data ?? null).toBeNull();
  const error = onlyError(res);
  expect(error.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason });
  expect(error.message).toBe(message);
}

async function expectAccepted(token: string, userId: string): Promise<MeView> {
  const res = await meWith({ token });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.me.id).toBe(userId);
  return res.body.data!.me;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The claims a genuine access token of `user` carries, fresh: each forgery below changes one thing. */
function genuineClaims(user: TestUser): JWTPayload {
  const sid = decodeJwt(user.accessToken)["sid"];
  if (typeof sid !== "string") throw new Error("access token has no sid");
  const iat = nowSeconds();
  return { iss: "gatehouse", aud: "gatehouse", sub: user.id, sid, iat, exp: iat + 300, jti: randomUUID() };
}

function forge(claims: JWTPayload, secret: string = TEST_JWT_SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

const base64url = (value: object): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

describe("access token shape", () => {
  it("is an HS256 JWT carrying exactly iss, aud, sub, sid, exp, jti and iat, and role and email_verified", async () => {
    const before = nowSeconds();
    const { accessToken } = await signUp(t);
    const user = decodeJwt(accessToken);
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(Object.keys(user).sort()).toEqual(["aud", "email_verified", "exp", "iat", "iss", "jti", "role", "sid", "sub"]);
    expect([user["role"], user["email_verified"]]).toEqual(["USER", false]);
    expect(user.iss).toBe("gatehouse");
    expect(user.aud).toBe("gatehouse");
    expect(user.jti).toMatch(UUID);
    expect(user.iat).toBeGreaterThanOrEqual(before - 1);
    expect(user.iat).toBeLessThanOrEqual(nowSeconds() + 1);
    expect(user.exp! - user.iat!).toBe(900);
  });

  it("names the user in sub and that user's session in sid, and differs on each login", async () => {
    const bob = await signUp(t);
    const first = decodeJwt(bob.accessToken);
    const relogin = await t.gql<{ login: { accessToken: string } }>(LOGIN, { input: { email: bob.email, password: bob.password } });
    const second = decodeJwt(relogin.body.data!.login.accessToken);
    expect(first.sub).toBe(bob.id);
    const [session] = await t.deps.db.select().from(sessions).where(eq(sessions.id, first["sid"] as string));
    expect(session!.userId).toBe(bob.id);
    expect(second.sub).toBe(bob.id);
    expect(second["sid"]).not.toBe(first["sid"]);
    expect(second.jti).not.toBe(first.jti);
  });

  it("is accepted when forged here with the server's secret and genuine claims (control for the forgeries below)", async () => {
    await expectAccepted(await forge(genuineClaims(alice)), alice.id);
  });
});

describe("me refuses", () => {
  it("a request without an Authorization header", async () => {
    expectRefused(await meWith({}), NO_TOKEN);
  });

  it.each(["Basic x", "Bearer", "Token abc.def.ghi", "Bearer a b", "Bearerabc.def.ghi"])("a malformed header %j", async (header) => {
    expectRefused(await meWith({ headers: { authorization: header } }), MALFORMED);
  });

  it("a Bearer value that is not a JWT", async () => {
    expectRefused(await meWith({ headers: { authorization: "Bearer not-a-jwt" } }), INVALID);
  });

  it("a token signed with another secret", async () => {
    expectRefused(await meWith({ token: await forge(genuineClaims(alice), "another-secret-that-is-also-32-bytes-long!") }), INVALID);
  });

  it("an unsigned token with alg: none", async () => {
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(genuineClaims(alice))}.`;
    expectRefused(await meWith({ token: unsigned }), INVALID);
  });

  it("a genuine token whose header was switched to alg: none", async () => {
    const [, payload, signature] = alice.accessToken.split(".");
    expectRefused(await meWith({ token: `${base64url({ alg: "none", typ: "JWT" })}.${payload}.${signature}` }), INVALID);
  });

  it("an expired token", async () => {
    const iat = nowSeconds() - 960;
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(alice), iat, exp: iat + 900 }) }), EXPIRED);
  });

  it("a token for another issuer", async () => {
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(alice), iss: "someone-else" }) }), INVALID);
  });

  it("a token for another audience", async () => {
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(alice), aud: "someone-else" }) }), INVALID);
  });

  it.each(["sub", "sid", "exp", "jti"])("a token without %s", async (claim) => {
    const claims = genuineClaims(alice);
    delete claims[claim];
    expectRefused(await meWith({ token: await forge(claims) }), INVALID);
  });

  it("a token whose sid is not a UUID", async () => {
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(alice), sid: "1' or '1'='1" }) }), INVALID);
  });

  it("a validly signed token with a random sid", async () => {
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(alice), sid: randomUUID() }) }), NO_SESSION);
  });

  it("a validly signed token whose sid belongs to another user", async () => {
    const mallory = await signUp(t);
    expectRefused(await meWith({ token: await forge({ ...genuineClaims(mallory), sub: alice.id }) }), NO_SESSION);
  });
});

describe("revocation acts at the next request", () => {
  it("logoutAll ends every session: the old access tokens are refused", async () => {
    const user = await signUp(t);
    const other = await t.gql<{ login: { accessToken: string } }>(LOGIN, { input: { email: user.email, password: user.password } });
    const otherToken = other.body.data!.login.accessToken;
    await expectAccepted(user.accessToken, user.id);
    await expectAccepted(otherToken, user.id);

    const res = await t.gql<{ logoutAll: boolean }>(LOGOUT_ALL, undefined, { token: user.accessToken });
    expect(res.body).toEqual({ data: { logoutAll: true } });
    expectRefused(await meWith({ token: user.accessToken }), NO_SESSION);
    expectRefused(await meWith({ token: otherToken }), NO_SESSION);
  });

  it("a user deactivated in the database is refused with a still-unexpired token", async () => {
    const user = await signUp(t);
    await expectAccepted(user.accessToken, user.id);
    await t.deps.db.update(users).set({ isActive: false }).where(eq(users.id, user.id));
    expectRefused(await meWith({ token: user.accessToken }), INACTIVE);
  });

  it("a user soft-deleted in the database is refused with a still-unexpired token", async () => {
    const user = await signUp(t);
    await t.deps.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, user.id));
    expectRefused(await meWith({ token: user.accessToken }), INACTIVE);
  });

  it("a session revoked in the database is refused", async () => {
    const user = await signUp(t);
    const sid = decodeJwt(user.accessToken)["sid"] as string;
    await t.deps.db.update(sessions).set({ revokedAt: new Date(), revokedReason: "logout" }).where(eq(sessions.id, sid));
    expectRefused(await meWith({ token: user.accessToken }), NO_SESSION);
  });

  it("a role changed in the database shows at the next request: role comes from the database, not the token", async () => {
    const user = await signUp(t);
    expect((await expectAccepted(user.accessToken, user.id)).role).toBe("USER");
    await t.deps.db.update(users).set({ role: "ADMIN" }).where(eq(users.id, user.id));
    expect((await expectAccepted(user.accessToken, user.id)).role).toBe("ADMIN");
    await t.deps.db.update(users).set({ role: "USER" }).where(eq(users.id, user.id));
    expect((await expectAccepted(user.accessToken, user.id)).role).toBe("USER");
  });
});

describe("the Authorization header", () => {
  it("accepts the Bearer scheme in any case", async () => {
    await expectAccepted(alice.accessToken, alice.id);
    const res = await meWith({ headers: { authorization: `bearer ${alice.accessToken}` } });
    expect(res.body.data?.me.id).toBe(alice.id);
  });

  it.each(["Bearer garbage.garbage.garbage", "Basic x", "Bearer"])("is ignored by a public operation (login) when it is %j", async (header) => {
    const res = await t.gql<{ login: { accessToken: string; user: { id: string } } }>(
      LOGIN,
      { input: { email: alice.email, password: alice.password } },
      { headers: { authorization: header } },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.login.user.id).toBe(alice.id);
    await expectAccepted(res.body.data!.login.accessToken, alice.id);
  });
});

describe("refusals leave no trace of the token's claims in the answer", () => {
  it("answers UNAUTHENTICATED with its reason, a timestamp and nothing else in extensions", async () => {
    const error = onlyError(await meWith({ token: await forge({ ...genuineClaims(alice), sid: randomUUID() }) }));
    expect(Object.keys(error.extensions).sort()).toEqual(["code", "reason", "timestamp"]);
    expect(Number.isNaN(Date.parse(error.extensions["timestamp"] as string))).toBe(false);
    expect(JSON.stringify(error)).not.toContain(alice.id);
  });
});
