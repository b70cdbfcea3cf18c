import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { BODY_LIMIT } from "../src/server/app.js";
import { TEST_ENCRYPTION_SECRET, TEST_JWT_SECRET, startTestServer, type TestServer } from "./support/server.js";

const production = { NODE_ENV: "production", MAIL_TRANSPORT: "log", RATE_LIMITS: "on", ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET };

describe("response headers", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: production });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

  it("carry X-Content-Type-Options: nosniff on every route, 404s and error responses included", async () => {
    const responses: Array<[string, Response]> = [
      ["healthz", await fetch(`${t.url}/healthz`)],
      ["readyz", await fetch(`${t.url}/readyz`)],
      ["metrics (404 in production)", await fetch(`${t.url}/metrics`)],
      ["unknown route", await fetch(`${t.url}/nope`)],
      ["graphql ok", await post(JSON.stringify({ query: "{ __typename }" }))],
      ["graphql error", await post(JSON.stringify({ query: "{ me { id } }" }))],
      ["bad JSON", await post("{ nope")],
      ["too large", await post(JSON.stringify({ query: `{ __typename } #${"x".repeat(200 * 1024)}` }))],
      ["csrf refusal", await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ __typename }")}`)],
      ["landing page request", await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } })],
    ];
    expect(responses.map(([, r]) => r.status)).toEqual([200, 200, 404, 404, 200, 200, 400, 413, 400, 400]);
    for (const [what, res] of responses) expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
    expect(BODY_LIMIT).toBe("100kb");
  });

  it("carry Cache-Control: no-store on every /graphql answer", async () => {
    const responses: Array<[string, Response]> = [
      ["query", await post(JSON.stringify({ query: "{ __typename }" }))],
      ["GET query", await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { "apollo-require-preflight": "1" } })],
      ["unauthenticated", await post(JSON.stringify({ query: "{ me { id } }" }))],
      ["validation error", await post(JSON.stringify({ query: "{ nope }" }))],
      ["bad JSON", await post("{ nope")],
      ["preflight", await fetch(`${t.url}/graphql`, { method: "OPTIONS" })],
    ];
    for (const [what, res] of responses) expect(res.headers.get("cache-control"), what).toBe("no-store");
  });
});

describe("error messages in production carry no suggestion and no debris", () => {
  let t: TestServer;
  let development: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: production });
    development = await startTestServer({ testDb: t.testDb });
  });
  afterAll(async () => {
    await development?.close();
    await t?.close();
  });

  const probes: Array<[string, string, Record<string, unknown>?]> = [
    ["misspelt field", "{ me { emial } }"],
    ["misspelt root field", 'mutation { loginn(input: { email: "a@example.com", password: "b" }) { accessToken } }'],
    ["misspelt argument", 'mutation { login(inptu: { email: "a@example.com", password: "b" }) { accessToken } }'],
    ["misspelt nested argument", "{ userStats { registrations(dayz: 3) { date } } }"],
    ["misspelt directive argument", "{ __typename @include(iff: true) }"],
    ["misspelt input field", 'mutation { login(input: { emial: "a@example.com", password: "b" }) { accessToken } }'],
    ["unknown enum value", "{ users(sortBy: CREATD_AT) { total } }"],
    ["unknown enum value in an input", "{ users(filter: { role: ADMN }) { total } }"],
    ["unknown variable type", "mutation ($i: LoginInpt!) { login(input: $i) { accessToken } }", { i: {} }],
    ["unknown fragment type", "{ me { ... on Usr { id } } }"],
    ["misspelt input field in a variable", "mutation ($i: LoginInput!) { login(input: $i) { accessToken } }", { i: { email: "a@example.com", pasword: "b" } }],
    [
      "unknown enum value in a variable",
      'mutation ($r: Role!) { updateUser(id: "00000000-0000-0000-0000-000000000000", input: { role: $r }) { id } }',
      { r: "ADMN" },
    ],
  ];

  for (const [what, query, variables] of probes) {
    it(`for: ${what}`, async () => {
      // The same request outside production gets a suggestion: this probe reaches the code that makes one.
      const dev = await development.gql(query, variables);
      expect(dev.body.errors?.map((e) => e.message).join(" ")).toMatch(/Did you mean/);

      const res = await t.gql(query, variables);
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors?.length).toBeGreaterThan(0);
      for (const error of res.body.errors ?? []) {
        // The document's shape (unknown field, argument, type) or a bad value: tests/error-codes.test.ts says which.
        expect(["GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"]).toContain(error.extensions.code);
        const messages = [error.message, ...((error.extensions["fields"] as Array<{ message: string }> | undefined) ?? []).map((f) => f.message)];
        for (const message of messages) {
          expect(message).not.toMatch(/Did you mean|Suggestion|hidden|\[|\]/i);
          // A sentence, ending as one: no "?" or double space left where a suggestion was cut out.
          expect(message).toMatch(/\.$/);
          expect(message).not.toMatch(/ {2}|\.\s*\?|\?$/);
        }
      }
    });
  }
});

describe("JWT_SECRET in production", () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig({ ...production, ...env });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it("refuses a repeated character, a short alphabet or a repeated block, naming JWT_SECRET", () => {
    for (const secret of ["x".repeat(32), "ab".repeat(24), "0123456789abcdef".repeat(2), "passwordpasswordpasswordpassword!", `${"a".repeat(40)}bc`]) {
      const problems = problemsOf({ JWT_SECRET: secret });
      expect(problems, secret).toHaveLength(1);
      expect(problems[0]).toMatch(/^JWT_SECRET: must carry at least 128 bits of entropy/);
      expect(problems[0]).not.toContain(secret);
    }
  });

  it("accepts random secrets as operators generate them, and the test secret", () => {
    for (const secret of [randomBytes(32).toString("base64"), randomBytes(32).toString("hex"), randomBytes(32).toString("base64url"), TEST_JWT_SECRET]) {
      expect(problemsOf({ JWT_SECRET: secret }), secret).toEqual([]);
    }
  });

  it("keeps accepting any 32-byte secret outside production", () => {
    expect(loadConfig({ JWT_SECRET: "x".repeat(32) }).jwt.secret).toBe("x".repeat(32));
    expect(loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_JWT_SECRET }).jwt.secret).toBe(TEST_JWT_SECRET);
  });
});
