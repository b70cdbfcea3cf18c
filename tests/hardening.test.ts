import { count, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../src/db/schema.js";
import { QUERY_LIMITS } from "../src/graphql/hardening.js";
import { LOGIN, REGISTER, signUp, type TestUser } from "./support/flows.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * Our own versions of the graphql-cop probes: each abusive document is refused as a request error
 * (Apollo's own code: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST) before anything runs. Where an operation would
 * have a visible effect (register creates a user), the test also checks that nothing was created.
 */

interface RawResponse {
  status: number;
  contentType: string | null;
  text: string;
  body: GqlResponse["body"];
}

async function raw(t: TestServer, path: string, init: RequestInit = {}): Promise<RawResponse> {
  const res = await fetch(`${t.url}${path}`, init);
  const text = await res.text();
  let body: GqlResponse["body"];
  try {
    body = JSON.parse(text) as GqlResponse["body"];
  } catch {
    body = {};
  }
  return { status: res.status, contentType: res.headers.get("content-type"), text, body };
}

/** Every error is a request error with this code, one of them says `message`, and no data came back. */
function expectRefused(res: { status: number; body: GqlResponse["body"] }, code: string, message: RegExp, status = 400): void {
  const errors = res.body.errors ?? [];
  expect(errors.length).toBeGreaterThan(0);
  expect(res.body.data).toBeUndefined();
  for (const e of errors) expect(e.extensions.code).toBe(code);
  expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(message));
  expect(res.status).toBe(status);
}

const times = (n: number, f: (i: number) => string, sep = " "): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);
/** `me` wrapped in `levels` nested inline fragments: depth = levels + 2. */
const inlineChain = (levels: number): string => `{ me { ${"... on User { ".repeat(levels)}id${" }".repeat(levels)} } }`;
/** A register call that would create a user if it ever ran. */
const registerCall = (alias = ""): string =>
  `${alias}register(input: { email: "${uniqueEmail("never")}", password: "${STRONG_PASSWORD}", fullName: "Never" }) { id }`;

async function userCount(t: TestServer): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(users);
  return row!.n;
}

describe("operation limits (development)", () => {
  let t: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    t = await startTestServer();
    user = await signUp(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const asUser = (query: string): Promise<GqlResponse> => t.gql(query, undefined, { token: user.accessToken });

  it("answers ordinary operations, and operations exactly at each limit", async () => {
    const five = await asUser(`{ ${times(5, (i) => `m${i}: me { id email }`)} }`);
    expect(five.status).toBe(200);
    expect(five.body.errors).toBeUndefined();
    expect(Object.values(five.body.data ?? {})).toEqual(Array.from({ length: 5 }, () => ({ id: user.id, email: user.email })));

    const atLimits: string[] = [
      inlineChain(QUERY_LIMITS.maxDepth - 2),
      `{ me { ${times(QUERY_LIMITS.maxAliases, (i) => `a${i}: id`)} } }`,
      `{ ${times(QUERY_LIMITS.maxRootFields, (i) => `r${i}: __typename`)} }`,
      `{ me { ${times(QUERY_LIMITS.maxDirectives / 2, () => "id @include(if: true) @skip(if: false)")} } }`,
    ];
    for (const query of atLimits) {
      const res = await asUser(query);
      expect(res.body.errors, query).toBeUndefined();
      expect(res.body.data, query).toBeTruthy();
    }
  });

  it("refuses a document deeper than maxDepth (inline fragments, named fragments, real fields)", async () => {
    expectRefused(await asUser(inlineChain(QUERY_LIMITS.maxDepth - 1)), "GRAPHQL_VALIDATION_FAILED", /^Syntax Error: Query depth limit of 12 exceeded, found 13\.$/);

    const names = times(QUERY_LIMITS.maxDepth, (i) => `F${i}`).split(" ");
    const fragments = names.map((n, i) => `fragment ${n} on User { ${names[i + 1] ? `...${names[i + 1]}` : "id"} }`).join("\n");
    expectRefused(await asUser(`{ me { ...F0 } }\n${fragments}`), "GRAPHQL_VALIDATION_FAILED", /Query depth limit of 12 exceeded/);

    // Real nesting through the schema: __type is not exempt (only __schema is ignored by the rule).
    const ofTypes = `{ __type(name: "User") { fields { type { ${"ofType { ".repeat(9)}name${" }".repeat(9)} } } } }`;
    expectRefused(await asUser(ofTypes), "GRAPHQL_VALIDATION_FAILED", /Query depth limit of 12 exceeded/);

    const before = await userCount(t);
    const deepSelection = `{ ${"... on User { ".repeat(QUERY_LIMITS.maxDepth)}id${" }".repeat(QUERY_LIMITS.maxDepth)} }`;
    const deepMutation = `mutation { ${registerCall().replace("{ id }", deepSelection)} }`;
    expectRefused(await t.gql(deepMutation), "GRAPHQL_VALIDATION_FAILED", /Query depth limit of 12 exceeded/);
    expect(await userCount(t)).toBe(before);
  });

  it("refuses more than maxAliases aliases, also inside fragments, and runs none of them", async () => {
    const over = QUERY_LIMITS.maxAliases + 1;
    expectRefused(await asUser(`{ me { ${times(over, (i) => `a${i}: id`)} } }`), "GRAPHQL_VALIDATION_FAILED", /^Syntax Error: Aliases limit of 10 exceeded, found 11\.$/);
    const inFragment = `{ me { ...A } } fragment A on User { ${times(over, (i) => `a${i}: email`)} }`;
    expectRefused(await asUser(inFragment), "GRAPHQL_VALIDATION_FAILED", /Aliases limit of 10 exceeded, found 11/);

    const before = await userCount(t);
    const res = await t.gql(`mutation { ${times(over, (i) => registerCall(`r${i}: `))} }`);
    expectRefused(res, "GRAPHQL_VALIDATION_FAILED", /Aliases limit of 10 exceeded, found 11/);
    expect(await userCount(t)).toBe(before);
  });

  it("refuses more than maxRootFields root fields, counted through fragments, and runs none of them", async () => {
    const over = QUERY_LIMITS.maxRootFields + 1;
    expectRefused(await asUser(`{ ${times(over, (i) => `r${i}: __typename`)} }`), "GRAPHQL_VALIDATION_FAILED", /^Too many root fields: 11 \(at most 10 per operation\)$/);
    const viaFragments =
      `{ ...A ... on Query { ...B } } fragment A on Query { ${times(6, (i) => `a${i}: __typename`)} } ` +
      `fragment B on Query { ${times(5, (i) => `b${i}: __typename`)} }`;
    expectRefused(await asUser(viaFragments), "GRAPHQL_VALIDATION_FAILED", /Too many root fields: 11/);

    // Eleven distinct mutations, no aliases: only the root-field rule can refuse this one.
    const before = await userCount(t);
    const mixed = `mutation { ${registerCall()} login(input: { email: "a@example.com", password: "x" }) { accessToken }
      refreshToken(refreshToken: "x") { accessToken } logout(refreshToken: "x") logoutAll verifyEmail(token: "x") { id }
      resendVerificationEmail requestPasswordReset(email: "a@example.com") resetPassword(input: { token: "x", newPassword: "y" })
      updateMe(input: { fullName: "Z" }) { id } deactivateMe(confirm: true) }`;
    const res = await t.gql(mixed, undefined, { token: user.accessToken });
    expect(res.body.errors).toHaveLength(1);
    expectRefused(res, "GRAPHQL_VALIDATION_FAILED", /^Too many root fields: 11/);
    expect(await userCount(t)).toBe(before);
    expect((await asUser("{ me { isActive fullName } }")).body.data).toEqual({ me: { isActive: true, fullName: "Test User" } });
  });

  it("refuses field duplication: graphql-cop's 500 root __typename, and a selection repeated 1000 times", async () => {
    // graphql-cop's own probe, byte for byte in shape.
    const cop = await t.gql(`query cop { ${"__typename \n".repeat(500)}}`);
    expectRefused(cop, "GRAPHQL_VALIDATION_FAILED", /^Too many root fields: 500/);
    // Inside one object graphql-js merges duplicates (me runs once); its overlap check has a work
    // budget that stops a document of 1000 copies. (500 nested copies, 504 tokens, pass every limit.)
    expectRefused(await asUser(`{ me { ${"id ".repeat(1000)}} }`), "GRAPHQL_VALIDATION_FAILED", /Validation aborted/);
  });

  it("refuses directive overloading (more than maxDirectives)", async () => {
    const fifty = await t.gql(`{ __typename ${"@include(if: true) ".repeat(50)}}`);
    expectRefused(fifty, "GRAPHQL_VALIDATION_FAILED", /^Syntax Error: Directives limit of 20 exceeded, found 50\.$/);
    // Valid directives spread over fields (nothing else wrong): the limit alone refuses it.
    const spread = await asUser(`{ me { ${times(11, () => "id @include(if: true) @skip(if: false)")} } }`);
    expect(spread.body.errors).toHaveLength(1);
    expectRefused(spread, "GRAPHQL_VALIDATION_FAILED", /^Syntax Error: Directives limit of 20 exceeded, found 22\.$/);
  });

  it("refuses a document over maxTokens as a client error (400), and runs nothing", async () => {
    const before = await userCount(t);
    const res = await t.gql(`mutation { ${registerCall().replace("{ id }", `{ id ${"__typename ".repeat(QUERY_LIMITS.maxTokens)}}`)} }`);
    expect(res.body.data).toBeUndefined();
    const error = res.body.errors?.[0];
    expect(res.body.errors).toHaveLength(1);
    // armor says "Token limit of 2000 exceeded.", graphql-js's own limit "more that 2000 tokens".
    expect(error?.message).toMatch(/^Syntax Error: .*(Token limit of 2000 exceeded|more that 2000 tokens)/);
    // The parser's own limit (parseOptions.maxTokens) refuses it, before validation.
    expect(error?.extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(await userCount(t)).toBe(before);
    // A request error is the client's fault: 400, never 500 (monitoring and retries read the status).
    expect(res.status).toBe(400);
  });

  it("refuses array batching with 400 and runs neither operation", async () => {
    const before = await userCount(t);
    const res = await raw(t, "/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: `mutation { ${registerCall()} }` }, { query: "{ __typename }" }]),
    });
    expectRefused(res, "BAD_REQUEST", /^Operation batching disabled\.$/);
    expect(await userCount(t)).toBe(before);
  });

  it("blocks CSRF: a GET without a preflight header, form posts, text/plain posts", async () => {
    const csrf = /Cross-Site Request Forgery/;
    expectRefused(await raw(t, `/graphql?query=${encodeURIComponent("{ me { id } }")}`), "BAD_REQUEST", csrf);

    const before = await userCount(t);
    const mutation = `mutation { ${registerCall()} }`;
    const form = await raw(t, "/graphql", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `query=${encodeURIComponent(mutation)}`,
    });
    expectRefused(form, "BAD_REQUEST", csrf);
    const text = await raw(t, "/graphql", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: mutation }) });
    expectRefused(text, "BAD_REQUEST", csrf);
    expect(await userCount(t)).toBe(before);
  });

  it("refuses a mutation over GET even with the preflight header (405)", async () => {
    const before = await userCount(t);
    const res = await raw(t, `/graphql?query=${encodeURIComponent(`mutation { ${registerCall()} }`)}`, { headers: { "apollo-require-preflight": "true" } });
    expectRefused(res, "BAD_REQUEST", /GET requests only support query operations/, 405);
    expect(await userCount(t)).toBe(before);
  });
});

describe("schema privacy and error hygiene (production)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { NODE_ENV: "production", MAIL_TRANSPORT: "log", RATE_LIMITS: "on" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses introspection (__schema and __type)", async () => {
    for (const query of [
      "{ __schema { types { name } } }",
      '{ __type(name: "User") { fields { name } } }',
      "query IntrospectionQuery { __schema { queryType { name } } }",
    ]) {
      expectRefused(await t.gql(query), "GRAPHQL_VALIDATION_FAILED", /introspection is not allowed/);
    }
  });

  it("gives no 'Did you mean' suggestion: unknown fields, arguments, input fields, enum values", async () => {
    const mee = await t.gql("{ mee }");
    expectRefused(mee, "GRAPHQL_VALIDATION_FAILED", /^Cannot query field "mee" on type "Query"\.$/);
    const probes: Array<[string, Record<string, unknown> | undefined]> = [
      ['mutation { login(inptu: { email: "a@example.com", password: "b" }) { accessToken } }', undefined],
      ['mutation { login(input: { emial: "a@example.com", password: "b" }) { accessToken } }', undefined],
      ["{ users(sortBy: CREATD_AT) { total } }", undefined],
      ["mutation ($i: LoginInput!) { login(input: $i) { accessToken } }", { i: { emial: "a@example.com", password: "b" } }],
      ['mutation ($r: Role!) { updateUser(id: "00000000-0000-0000-0000-000000000000", input: { role: $r }) { id } }', { r: "ADMN" }],
    ];
    for (const [query, variables] of probes) {
      const res = await t.gql(query, variables);
      expect(res.body.errors?.length, query).toBeGreaterThan(0);
      for (const e of res.body.errors ?? []) {
        // An unknown argument name is the document's fault; a bad value (or a missing argument) is input.
        expect(["GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"], query).toContain(e.extensions.code);
        expect(e.message, query).not.toMatch(/Did you mean|"ADMIN"|CREATED_AT/);
      }
    }
  });

  it("serves no landing page for Accept: text/html", async () => {
    const res = await raw(t, "/graphql", { headers: { accept: "text/html" } });
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(res.text).not.toMatch(/<!doctype|<html|<script|sandbox|embeddable/i);
  });

  it("never puts a stack, a source path or SQL in an error response", async () => {
    const email = uniqueEmail("hygiene");
    await t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Hygiene" } });
    const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const responses: RawResponse[] = [
      await raw(t, "/graphql", json({ query: "{ me " })),
      await raw(t, "/graphql", json({ query: "{ me { id } }" })),
      await raw(t, "/graphql", json({ query: "{ nope }" })),
      await raw(t, "/graphql", json({ query: `{ ${"__typename ".repeat(2100)}}` })),
      await raw(t, "/graphql", json({ query: inlineChain(20) })),
      await raw(t, "/graphql", json([{ query: "{ __typename }" }, { query: "{ __typename }" }])),
      await raw(t, "/graphql", json({ query: LOGIN, variables: { input: { email: 5, password: [] } } })),
      await raw(t, "/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: "{ nope" }),
      await raw(t, "/graphql", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }),
      await raw(t, "/graphql", json({ query: LOGIN, variables: { input: { email, password: "wrong password, sorry" } } })),
    ];
    // An unexpected failure: the table that login writes to is gone, so the driver error carries SQL.
    await t.deps.db.execute(sql`alter table audit_events rename to audit_events_gone`);
    try {
      const broken = await raw(t, "/graphql", json({ query: LOGIN, variables: { input: { email, password: STRONG_PASSWORD } } }));
      expect(broken.body.errors?.[0]?.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      expect(broken.body.errors?.[0]?.message).toBe("Internal server error");
      responses.push(broken);
    } finally {
      await t.deps.db.execute(sql`alter table audit_events_gone rename to audit_events`);
    }
    expect(responses).toHaveLength(11);
    for (const res of responses) {
      expect(res.body.errors?.length, res.text).toBeGreaterThan(0);
      expect(res.text).not.toMatch(/stack|at \/|\.ts:|\.js:\d|node_modules/i);
      expect(res.text).not.toMatch(/\b(select|insert into|update \S+ set|delete from)\b|audit_events|password_hash|\$argon2|sqlstate|42P01/i);
    }
  });
});
