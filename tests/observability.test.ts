import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN, signUp } from "./support/flows.js";
import { captureLogs } from "./support/logs.js";
import { startTestServer, type TestServer } from "./support/server.js";

const { logger, lines } = captureLogs();

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ logger, env: { RATE_LIMITS: "on", RATE_LIMIT_LOGIN: "2/1m" } });
});
afterAll(async () => {
  await t?.close();
});

const metricValue = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("request logs", () => {
  it("write one line per request with id, operation, user, outcome and duration, and never the variables", async () => {
    const user = await signUp(t);
    const requestId = "log-line-test-1";
    await t.gql("query WhoAmI { me { id } }", undefined, { token: user.accessToken, headers: { "x-request-id": requestId } });
    const entries = lines.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ msg: "graphql request", requestId, operation: "WhoAmI", userId: user.id, outcome: "OK" });
    expect(entries[0]!["durationMs"]).toEqual(expect.any(Number));

    await t.gql("query Anon { me { id } }", undefined, { headers: { "x-request-id": "log-line-test-2" } });
    const anon = lines.filter((l) => l.includes("log-line-test-2")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(anon[0]).toMatchObject({ operation: "Anon", userId: null, outcome: "UNAUTHENTICATED" });
    expect(lines.join("\n")).not.toContain(user.password);
  });
});

describe("/metrics", () => {
  it("exposes requests by operation, errors by code, logins, rate-limit refusals, the outbox and process metrics", async () => {
    const user = await signUp(t);
    await t.gql(LOGIN, { input: { email: user.email, password: "not the password" } });
    await t.gql(LOGIN, { input: { email: user.email, password: "not the password" } }); // over 2/1m (signUp logged in once)

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    expect(metricValue(text, 'gatehouse_logins_total{result="success"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'gatehouse_logins_total{result="failure"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'gatehouse_rate_limited_total{limit="login"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'gatehouse_graphql_errors_total{code="RATE_LIMITED"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'gatehouse_graphql_request_duration_seconds_count{operation="login",outcome="OK"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, "gatehouse_outbox_pending")).toEqual(expect.any(Number));
    expect(metricValue(text, "gatehouse_outbox_failed")).toBe(0);
    expect(metricValue(text, "gatehouse_outbox_oldest_pending_age_seconds")).toEqual(expect.any(Number));
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \S+/m);
    expect(text).not.toMatch(/^gatehouse_(process|nodejs)_/m);
    if (t.testDb.url) {
      // PostgreSQL: this instance's pool, as the server sees it (the scrape itself is one active connection).
      expect(metricValue(text, "gatehouse_db_pool_max")).toBe(10);
      expect(metricValue(text, 'gatehouse_db_pool_connections{state="active"}')).toBeGreaterThanOrEqual(1);
    } else {
      expect(text).not.toContain("gatehouse_db_pool");
    }
  });
});
