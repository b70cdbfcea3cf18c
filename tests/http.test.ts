import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN, REGISTER, onlyError } from "./support/flows.js";
import { captureLogs } from "./support/logs.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

type ErrorBody = { errors: Array<{ message: string; extensions: { code: string } }> };

describe("HTTP surface (development)", () => {
  let t: TestServer;
  const log = captureLogs();
  beforeAll(async () => {
    t = await startTestServer({ logger: log.logger, env: { CORS_ORIGINS: "https://app.example.com" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers /healthz and /readyz", async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", signing: "ok" } });
  });

  it("echoes a sane X-Request-Id and generates one otherwise", async () => {
    const given = await t.gql("{ __typename }", undefined, { headers: { "x-request-id": "req-123" } });
    expect(given.headers.get("x-request-id")).toBe("req-123");
    const generated = await t.gql("{ __typename }", undefined, { headers: { "x-request-id": "bad id with spaces" } });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("allows only the configured CORS origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
    const allowed = await preflight("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
    const other = await preflight("https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses a body over the limit and broken JSON with a GraphQL-shaped error", async () => {
    const big = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ __typename } # ${"x".repeat(200_000)}` }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as ErrorBody).errors[0]!.extensions.code).toBe("BAD_REQUEST");
    const broken = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: "{ nope" });
    expect(broken.status).toBe(400);
    const body = (await broken.json()) as ErrorBody;
    expect(body.errors[0]!.extensions.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js|stack/i);
  });

  it("serves the Sandbox landing page outside production", async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sandbox/i);
  });

  it("blocks CSRF-able requests (simple GET or form posts without a preflight header)", async () => {
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ __typename }")}`);
    expect(get.status).toBe(400);
    const form = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "query=%7B__typename%7D",
    });
    expect(form.status).toBeGreaterThanOrEqual(400);
    const withHeader = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(await withHeader.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("gives every error a code from the catalog and a timestamp", async () => {
    const parse = await t.gql("{ me ");
    expect(onlyError(parse).extensions).toMatchObject({ code: "GRAPHQL_PARSE_FAILED", timestamp: expect.any(String) });
    const unknown = await t.gql("{ nope }");
    expect(onlyError(unknown).extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const missingArg = await t.gql("mutation { register { id } }");
    expect(onlyError(missingArg).extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input" }] });
    const badVar = await t.gql("mutation($i: RegisterInput!) { register(input: $i) { id } }", { i: { email: 5, password: "x", fullName: "y" } });
    expect(badVar.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "i.email" }] });
    expect(new Date(String(onlyError(parse).extensions["timestamp"])).toString()).not.toBe("Invalid Date");
  });

  it("masks an unexpected failure, and logs it with the request id but without SQL or parameters", async () => {
    const email = uniqueEmail("masked");
    await t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Masked" } });
    // Break the table that login writes to, so the driver raises an error carrying SQL and parameters.
    await t.deps.db.execute(sql`alter table audit_events rename to audit_events_gone`);
    try {
      const res = await t.gql(LOGIN, { input: { email, password: STRONG_PASSWORD } }, { headers: { "x-request-id": "trace-me-42" } });
      const error = onlyError(res);
      expect(error.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      expect(error.message).toBe("Internal server error");
      const body = JSON.stringify(res.body);
      expect(body).not.toMatch(/audit_events|insert|select|stack/i);
      expect(body).not.toContain(email);
    } finally {
      await t.deps.db.execute(sql`alter table audit_events_gone rename to audit_events`);
    }
    const logged = log.lines.filter((l) => l.includes("trace-me-42") && l.includes("unexpected error"));
    expect(logged).toHaveLength(1);
    // The request line names the outcome, and also carries nothing secret.
    const request = log.lines.filter((l) => l.includes("trace-me-42") && l.includes("graphql request"));
    expect(request).toHaveLength(1);
    expect(JSON.parse(request[0]!)).toMatchObject({ operation: "Login", outcome: "INTERNAL_SERVER_ERROR", userId: null });
    expect(request[0]).not.toContain(email);
    expect(logged[0]).toMatch(/"sqlstate":"42P01"/);
    expect(logged[0]).not.toMatch(/insert into|audit_events|argon2/i);
    expect(logged[0]).not.toContain(email);
  });
});

describe("HTTP surface (production)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { NODE_ENV: "production", MAIL_TRANSPORT: "log", RATE_LIMITS: "on" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("has no landing page", async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await res.text()).not.toMatch(/sandbox/i);
  });

  it("refuses introspection", async () => {
    const res = await t.gql("{ __schema { types { name } } }");
    expect(onlyError(res).extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.body.data).toBeUndefined();
  });

  it("gives no field suggestions", async () => {
    const res = await t.gql("{ mee { id } }");
    expect(onlyError(res).message).not.toMatch(/Did you mean/);
  });
});
