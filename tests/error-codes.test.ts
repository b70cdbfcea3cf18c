import { randomUUID } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnauthenticatedReason } from "../src/errors.js";
import { QUERY_LIMITS } from "../src/graphql/hardening.js";
import { buildGatehouseSchema } from "../src/graphql/schema.js";
import { LOGIN, onlyError, signUp, type TestUser } from "./support/flows.js";
import { LOGOUT, LOGOUT_ALL, ME, REFRESH, REVOKE_SESSION, sessionIdOf } from "./support/sessions.js";
import { startTestServer, type GqlOptions, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * API.md §6, through HTTP: a request refused before any resolver ran keeps Apollo's code
 * (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST, …), a bad argument value is
 * BAD_USER_INPUT with `fields`, and every UNAUTHENTICATED says why in `extensions.reason`.
 */

type Body = GqlResponse["body"];
interface Answer {
  status: number;
  body: Body;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function post(body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as Body };
}

async function get(query: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${t.url}/graphql?query=${encodeURIComponent(query)}`, { headers });
  return { status: res.status, body: (await res.json()) as Body };
}

/** Exactly one error, with this code and HTTP status, a timestamp, no data and no `fields`. */
function expectCode(res: Answer, code: string, status = 400): Body["errors"] & object {
  const error = onlyError(res);
  expect(error.extensions.code, error.message).toBe(code);
  expect(Number.isNaN(Date.parse(error.extensions["timestamp"] as string))).toBe(false);
  expect(res.status).toBe(status);
  expect(res.body.data ?? null).toBeNull();
  if (code !== "BAD_USER_INPUT") expect(error.extensions["fields"]).toBeUndefined();
  return res.body.errors!;
}

/** Every error is BAD_USER_INPUT naming this field, and the request answered 400. */
function expectBadValue(res: Answer, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body.errors?.length).toBeGreaterThan(0);
  for (const error of res.body.errors ?? []) {
    expect(error.extensions.code, error.message).toBe("BAD_USER_INPUT");
    expect(error.extensions["fields"]).toEqual([{ field, message: error.message }]);
  }
}

describe("Apollo's request codes pass through", () => {
  it("a syntax error is GRAPHQL_PARSE_FAILED", async () => {
    expectCode(await t.gql("{ me { id }"), "GRAPHQL_PARSE_FAILED");
  });

  it("a document over the token limit is GRAPHQL_PARSE_FAILED (the parser counts the tokens)", async () => {
    expectCode(await t.gql(`{ me { ${"id ".repeat(QUERY_LIMITS.maxTokens)}} }`), "GRAPHQL_PARSE_FAILED");
  });

  it("an unknown field, an unknown argument name or an unknown type is GRAPHQL_VALIDATION_FAILED", async () => {
    expectCode(await t.gql("{ mee { id } }"), "GRAPHQL_VALIDATION_FAILED");
    expectCode(await t.gql("{ userStats { registrations(dayz: 3) { date } } }"), "GRAPHQL_VALIDATION_FAILED");
    expectCode(await t.gql("query ($f: UserFiltr) { users(filter: $f) { total } }"), "GRAPHQL_VALIDATION_FAILED");
    // A variable declared with a type its position does not take is the document's fault, not a value's.
    expectCode(await t.gql("query ($p: String) { users(page: $p) { total } }", { p: "1" }), "GRAPHQL_VALIDATION_FAILED");
  });

  it("a query over the limits (depth, aliases) is GRAPHQL_VALIDATION_FAILED", async () => {
    const depth = QUERY_LIMITS.maxDepth;
    expectCode(await t.gql(`{ me { ${"... on User { ".repeat(depth)}id${" }".repeat(depth)} } }`), "GRAPHQL_VALIDATION_FAILED");
    const aliases = Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: id`).join(" ");
    expectCode(await t.gql(`{ me { ${aliases} } }`), "GRAPHQL_VALIDATION_FAILED");
  });

  it("bad JSON, an oversized body, a body without a query are BAD_REQUEST", async () => {
    expectCode(await post("{ nope"), "BAD_REQUEST");
    expectCode(await post(JSON.stringify({ query: `{ __typename } # ${"x".repeat(200_000)}` })), "BAD_REQUEST", 413);
    expectCode(await post(JSON.stringify({ variables: {} })), "BAD_REQUEST");
  });

  it("the CSRF guard, a mutation over GET and a batch are BAD_REQUEST", async () => {
    expectCode(await get("{ __typename }"), "BAD_REQUEST");
    expectCode(await post(JSON.stringify({ query: "{ __typename }" }), { "content-type": "text/plain" }), "BAD_REQUEST");
    expectCode(await get("mutation { logoutAll }", { "apollo-require-preflight": "1" }), "BAD_REQUEST", 405);
    const batch = await post(JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]));
    expectCode(batch, "BAD_REQUEST");
  });

  it("an operationName that names no operation is OPERATION_RESOLUTION_FAILURE", async () => {
    const res = await post(JSON.stringify({ query: "query A { __typename } query B { __typename }", operationName: "C" }));
    expectCode(res, "OPERATION_RESOLUTION_FAILURE");
  });

  it("an unknown persisted-query hash is PERSISTED_QUERY_NOT_FOUND, which Apollo Client answers with the query text", async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } };
    expectCode(await post(JSON.stringify({ extensions })), "PERSISTED_QUERY_NOT_FOUND", 200);
  });
});

describe("BAD_USER_INPUT stays for argument values, with fields", () => {
  it("a variable of the wrong type", async () => {
    expectBadValue(await t.gql(LOGIN, { input: { email: 5, password: "x" } }), "input.email");
    expectBadValue(await t.gql("query ($p: Int) { users(page: $p) { total } }", { p: "one" }), "p");
  });

  it("a literal argument value of the wrong type, or an enum value that does not exist", async () => {
    expectBadValue(await t.gql('{ users(page: "one") { total } }'), "page");
    expectBadValue(await t.gql("{ users(sortBy: CREATD_AT) { total } }"), "sortBy");
    // A custom scalar's own parse error, nested in an input object.
    expectBadValue(await t.gql('{ users(filter: { createdAfter: "yesterday" }) { total } }'), "filter.createdAfter");
  });

  it("a missing required argument, and an unknown or missing field of an input literal", async () => {
    expectBadValue(await t.gql("{ user { id } }"), "id");
    const res = await t.gql('mutation { login(input: { emial: "a@example.com", password: "b" }) { accessToken } }');
    expect(res.body.errors?.map((e) => e.extensions["fields"])).toEqual([
      [{ field: "input.email", message: expect.any(String) }],
      [{ field: "input.emial", message: expect.any(String) }],
    ]);
    expectBadValue({ status: res.status, body: { errors: res.body.errors!.slice(0, 1) } }, "input.email");
  });

  it("an unknown argument next to a missing one: each error has its own code", async () => {
    const res = await t.gql('mutation { login(inptu: { email: "a@example.com", password: "b" }) { accessToken } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.extensions.code).sort()).toEqual(["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]);
  });
});

describe("UNAUTHENTICATED says why in extensions.reason", () => {
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  /**
   * The claims of a genuine access token of `user`, signed with the server's current ES256 key (the
   * default JWT_ALGORITHM), or as HS256 with `secret` when one is given (a forgery).
   */
  async function tokenFor(user: TestUser, claims: JWTPayload = {}, secret?: string): Promise<string> {
    const iat = nowSeconds();
    const genuine = { iss: t.config.jwt.issuer, aud: t.config.jwt.audience, sub: user.id, sid: sessionIdOf(user.accessToken), iat, exp: iat + 300 };
    const jwt = new SignJWT({ ...genuine, jti: randomUUID(), ...claims });
    if (secret) return jwt.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
    const signer = t.deps.keys.signer()!;
    return jwt.setProtectedHeader({ alg: "ES256", kid: signer.kid, typ: "at+jwt" }).sign(signer.key);
  }

  /** One UNAUTHENTICATED with this reason, no data. */
  function expectReason(res: Answer, reason: UnauthenticatedReason): void {
    const error = onlyError(res);
    expect(error.extensions, error.message).toMatchObject({ code: "UNAUTHENTICATED", reason });
    expect(res.body.data ?? null).toBeNull();
  }

  const me = (options: GqlOptions) => t.gql(ME, undefined, options);

  it("NO_TOKEN: no Authorization header", async () => {
    expectReason(await me({}), "NO_TOKEN");
  });

  it("INVALID_TOKEN: a malformed header, garbage, a forged signature, alg none, another issuer or audience, a missing claim", async () => {
    const alice = await signUp(t);
    expectReason(await me({ headers: { authorization: "Basic abc" } }), "INVALID_TOKEN");
    expectReason(await me({ token: "not-a-jwt" }), "INVALID_TOKEN");
    expectReason(await me({ token: await tokenFor(alice, {}, "another-secret-that-is-also-32-bytes-long!") }), "INVALID_TOKEN");
    const [, payload] = (await tokenFor(alice)).split(".");
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    expectReason(await me({ token: `${none}.${payload}.` }), "INVALID_TOKEN");
    expectReason(await me({ token: await tokenFor(alice, { iss: "someone-else" }) }), "INVALID_TOKEN");
    expectReason(await me({ token: await tokenFor(alice, { aud: "someone-else" }) }), "INVALID_TOKEN");
    expectReason(await me({ token: await tokenFor(alice, { sid: undefined }) }), "INVALID_TOKEN");
    // Control: the same construction with nothing changed is accepted.
    expect((await me({ token: await tokenFor(alice) })).body.errors).toBeUndefined();
  });

  it("TOKEN_EXPIRED: a genuine token past exp, and only when the signature verified", async () => {
    const alice = await signUp(t);
    const past = { iat: nowSeconds() - 960, exp: nowSeconds() - 60 };
    expectReason(await me({ token: await tokenFor(alice, past) }), "TOKEN_EXPIRED");
    // Forged and expired: a client must not answer it by refreshing.
    expectReason(await me({ token: await tokenFor(alice, past, "another-secret-that-is-also-32-bytes-long!") }), "INVALID_TOKEN");
    // Expired, but for another issuer: not ours whatever the signature says.
    expectReason(await me({ token: await tokenFor(alice, { ...past, iss: "someone-else" }) }), "INVALID_TOKEN");
  });

  it("SESSION_REVOKED: after logoutAll, after revokeSession, and for a session that is not the token's user's", async () => {
    const alice = await signUp(t);
    const other = await signUp(t);
    expect((await t.gql(LOGOUT_ALL, undefined, { token: alice.accessToken })).body.errors).toBeUndefined();
    expectReason(await me({ token: alice.accessToken }), "SESSION_REVOKED");

    const bob = await signUp(t);
    const second = await signUp(t);
    const revoked = await t.gql(REVOKE_SESSION, { id: sessionIdOf(second.accessToken) }, { token: second.accessToken });
    expect(revoked.body.errors).toBeUndefined();
    expectReason(await me({ token: second.accessToken }), "SESSION_REVOKED");

    // Bob's user id with another user's live session.
    expectReason(await me({ token: await tokenFor(bob, { sid: sessionIdOf(other.accessToken) }) }), "SESSION_REVOKED");
    expect((await me({ token: bob.accessToken })).body.errors).toBeUndefined();
  });

  it("ACCOUNT_INACTIVE: the token of a user who deactivated the account (its sessions are revoked too)", async () => {
    const alice = await signUp(t);
    const other = await t.gql<{ login: { accessToken: string } }>(LOGIN, { input: { email: alice.email, password: alice.password } });
    const deactivated = await t.gql("mutation { deactivateMe(confirm: true) }", undefined, { token: alice.accessToken });
    expect(deactivated.body).toEqual({ data: { deactivateMe: true } });
    expectReason(await me({ token: alice.accessToken }), "ACCOUNT_INACTIVE");
    expectReason(await me({ token: other.body.data!.login.accessToken }), "ACCOUNT_INACTIVE");
    expectReason(await t.gql(REFRESH, { refreshToken: alice.refreshToken }), "ACCOUNT_INACTIVE");
    expectReason(await t.gql(LOGIN, { input: { email: alice.email, password: alice.password } }), "ACCOUNT_INACTIVE");
  });

  it("refreshToken and logout: INVALID_TOKEN for an unknown refresh token, SESSION_REVOKED for a used one or an ended session", async () => {
    expectReason(await t.gql(REFRESH, { refreshToken: "no-such-token" }), "INVALID_TOKEN");
    expectReason(await t.gql(LOGOUT, { refreshToken: "no-such-token" }), "INVALID_TOKEN");

    const alice = await signUp(t);
    const next = await t.gql<{ refreshToken: { refreshToken: string } }>(REFRESH, { refreshToken: alice.refreshToken });
    expect(next.body.errors).toBeUndefined();
    // Once its successor has been used too, a repeat is a replay even inside REFRESH_REUSE_INTERVAL.
    expect((await t.gql(REFRESH, { refreshToken: next.body.data!.refreshToken.refreshToken })).body.errors).toBeUndefined();
    expectReason(await t.gql(REFRESH, { refreshToken: alice.refreshToken }), "SESSION_REVOKED");
    expectReason(await t.gql(LOGOUT, { refreshToken: alice.refreshToken }), "SESSION_REVOKED");

    const bob = await signUp(t);
    expect((await t.gql(LOGOUT_ALL, undefined, { token: bob.accessToken })).body.errors).toBeUndefined();
    expectReason(await t.gql(REFRESH, { refreshToken: bob.refreshToken }), "SESSION_REVOKED");
  });

  it("login: INVALID_CREDENTIALS for a wrong password and for an unknown email alike", async () => {
    const alice = await signUp(t);
    const wrong = await t.gql(LOGIN, { input: { email: alice.email, password: "not the password at all" } });
    const unknown = await t.gql(LOGIN, { input: { email: `nobody.${randomUUID()}@example.com`, password: "not the password at all" } });
    expectReason(wrong, "INVALID_CREDENTIALS");
    expectReason(unknown, "INVALID_CREDENTIALS");
    expect(onlyError(wrong).message).toBe(onlyError(unknown).message);
  });

  it("the schema documents the reasons: the token's on @auth, login's and refreshToken's on those fields", async () => {
    const schema = await buildGatehouseSchema();
    const tokenReasons = Object.values(UnauthenticatedReason).filter((r) => r !== "INVALID_CREDENTIALS");
    for (const reason of tokenReasons) expect(schema.getDirective("auth")?.description).toContain(reason);
    const mutation = schema.getMutationType()!.getFields();
    expect(mutation["login"]?.description).toMatch(/INVALID_CREDENTIALS[\s\S]*ACCOUNT_INACTIVE/);
    for (const reason of ["INVALID_TOKEN", "SESSION_REVOKED", "ACCOUNT_INACTIVE"]) expect(mutation["refreshToken"]?.description).toContain(reason);
  });
});
