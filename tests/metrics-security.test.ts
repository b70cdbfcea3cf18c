import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { configProblems } from "./support/config.js";
import { buildGatehouseSchema } from "../src/graphql/schema.js";
import { OTHER_LABEL, rootFieldNames } from "../src/graphql/operation-label.js";
import { startMetricsServer } from "../src/server/metrics-server.js";
import { captureLogs } from "./support/logs.js";
import { backend, createTestDatabase, type TestDatabase } from "./support/database.js";
import { startServerProcess } from "../scripts/server-process.js";
import { TEST_ENCRYPTION_SECRET, TEST_JWT_SECRET, startTestServer, type TestServer } from "./support/server.js";

const METRICS_TOKEN = "metrics-token-0f3a9c2e7b51d846a0c3e9f1b27d5a64";
const ATTACK_REQUESTS = 300;

/** A distinct 2 kB GraphQL name per request: what an attacker sends to mint new label values. */
const attackName = (i: number) => `Attack${String(i).padStart(4, "0")}_${"x".repeat(2048 - 11)}`;

const operationLabels = (text: string): string[] => [
  ...new Set([...text.matchAll(/^gatehouse_graphql_request_duration_seconds_count\{operation="([^"]*)"/gm)].map((m) => m[1]!)),
];

describe("metric labels under a flood of client-chosen operation names", () => {
  const { logger, lines } = captureLogs();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ logger });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`stay within the root fields + "${OTHER_LABEL}" after ${ATTACK_REQUESTS} distinct 2 kB names, and the log keeps 100 characters`, async () => {
    const before = await (await fetch(`${t.url}/metrics`)).text();
    // Three shapes: a query root field, a mutation root field behind a fragment, and no schema field at all.
    const documents = (name: string, i: number) =>
      [
        `query ${name} { me { id } }`,
        `mutation ${name} { ...F } fragment F on Mutation { l: logout(refreshToken: "nope") }`,
        `query ${name} { __typename }`,
      ][i % 3]!;
    for (let i = 0; i < ATTACK_REQUESTS; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, k) => i + k).map((n) => t.gql(documents(attackName(n), n), undefined, { headers: { "x-request-id": `attack-${n}` } })),
      );
    }
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();

    expect(text).not.toContain("Attack0");
    expect(text).not.toContain("x".repeat(100));
    const allowed = new Set([...rootFieldNames(await buildGatehouseSchema()), OTHER_LABEL]);
    const labels = operationLabels(text);
    expect(labels).toEqual(expect.arrayContaining(["me", "logout", OTHER_LABEL]));
    for (const label of labels) expect(allowed.has(label), label).toBe(true);
    // Bounded: three label values (with their outcomes) is a few dozen lines, not 300 × 2 kB × buckets.
    expect(text.length - before.length).toBeLessThan(16_384);

    const logged = lines.filter((l) => l.includes('"requestId":"attack-')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toHaveLength(ATTACK_REQUESTS);
    for (const entry of logged) {
      const n = Number(String(entry["requestId"]).slice("attack-".length));
      expect(entry["operation"]).toBe(attackName(n).slice(0, 100));
      expect(entry["field"]).toBe(["me", "logout", OTHER_LABEL][n % 3]);
    }
  });

  it("label an operation by its first root field, aliases and fragments seen through", async () => {
    await t.gql('query Two { a: __typename ... on Query { me { id } } }');
    await t.gql("{ nope }");
    await t.gql("{ me ");
    const text = await (await fetch(`${t.url}/metrics`)).text();
    // `me` is the first schema root field of "Two"; the invalid and unparsable ones are `other`.
    expect(text).toMatch(/^gatehouse_graphql_request_duration_seconds_count\{operation="me",outcome="UNAUTHENTICATED"\} \d+/m);
    expect(text).toMatch(/^gatehouse_graphql_request_duration_seconds_count\{operation="other",outcome="GRAPHQL_VALIDATION_FAILED"\} \d+/m);
    expect(text).toMatch(/^gatehouse_graphql_request_duration_seconds_count\{operation="other",outcome="GRAPHQL_PARSE_FAILED"\} \d+/m);
    expect(text).not.toMatch(/operation="(Two|anonymous|nope)"/);
  });
});

describe("/metrics in production", () => {
  let testDb: TestDatabase;
  let withToken: TestServer;
  let withPort: TestServer;
  const production = { NODE_ENV: "production", MAIL_TRANSPORT: "log", RATE_LIMITS: "on" };
  beforeAll(async () => {
    testDb = await createTestDatabase();
    withToken = await startTestServer({ testDb, env: { ...production, METRICS_TOKEN } });
    withPort = await startTestServer({ testDb, env: { ...production, METRICS_PORT: "0" } });
  });
  afterAll(async () => {
    await withToken?.close();
    await withPort?.close();
    await testDb?.drop();
  });

  const scrape = (url: string, authorization?: string) => fetch(`${url}/metrics`, authorization ? { headers: { authorization } } : {});

  it("answers 404 on the main listener without the token, and 404 (not 401) for a wrong one", async () => {
    const wrong = [undefined, `Bearer ${METRICS_TOKEN.slice(0, -1)}x`, "Bearer short", `Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN} extra`];
    for (const authorization of wrong) {
      const res = await scrape(withToken.url, authorization);
      expect(res.status, authorization).toBe(404);
      expect(await res.text()).not.toContain("gatehouse_");
    }
  });

  it("serves the main listener's /metrics to Authorization: Bearer <METRICS_TOKEN>", async () => {
    const res = await scrape(withToken.url, `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^gatehouse_outbox_pending \d+/m);
  });

  it("answers 404 on the main listener with neither a token nor anything else configured", async () => {
    expect((await scrape(withPort.url)).status).toBe(404);
    expect((await scrape(withPort.url, `Bearer ${METRICS_TOKEN}`)).status).toBe(404);
  });

  it("serves /metrics on METRICS_PORT, on 127.0.0.1 by default, and nothing else there", async () => {
    expect(withPort.config.metrics).toEqual({ port: 0, host: "127.0.0.1", token: undefined });
    const listener = await startMetricsServer(withPort.deps);
    try {
      expect(listener!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await scrape(listener!.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/plain/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await res.text()).toMatch(/^gatehouse_outbox_pending \d+/m);
      expect((await fetch(`${listener!.url}/graphql`, { method: "POST" })).status).toBe(404);
    } finally {
      await listener!.close();
    }
    expect(await startMetricsServer(withToken.deps)).toBeUndefined();
  });

  it("parses METRICS_* and names the variable in each error", () => {
    expect(configProblems({ METRICS_PORT: "ninety" }).join()).toMatch(/^METRICS_PORT: /);
    expect(configProblems({ METRICS_PORT: "70000" }).join()).toMatch(/^METRICS_PORT: /);
    expect(configProblems({ PORT: "4000", METRICS_PORT: "4000" }).join()).toMatch(/^METRICS_PORT must differ from PORT/);
    expect(configProblems({ METRICS_TOKEN: "too-short" }).join()).toMatch(/^METRICS_TOKEN: must be at least 32 bytes/);
    expect(configProblems({ METRICS_TOKEN: `${METRICS_TOKEN} with spaces` }).join()).toMatch(/^METRICS_TOKEN: /);
    expect(loadConfig({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0", METRICS_TOKEN }).metrics).toEqual({
      port: 9464,
      host: "0.0.0.0",
      token: METRICS_TOKEN,
    });
  });
});

describe("the METRICS_PORT listener of the real process", () => {
  it.runIf(backend === "pglite")("starts with the server and stops with it on SIGTERM (exit 0)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-metrics-"));
    try {
      const server = await startServerProcess({
        NODE_ENV: "production",
        JWT_SECRET: TEST_JWT_SECRET,
        ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET,
        MAIL_TRANSPORT: "log",
        DATA_DIR: dataDir,
        METRICS_PORT: "0",
      });
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/metrics"[^\n]*metrics listener ready/.exec(server.output())?.[1];
      expect(url, server.output()).toBeDefined();
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      expect(await server.stop("SIGTERM")).toBe(0);
      await expect(fetch(`${url}/metrics`)).rejects.toThrow();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
