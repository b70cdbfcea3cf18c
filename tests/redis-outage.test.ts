import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTER } from "./support/flows.js";
import { captureLogs } from "./support/logs.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.js";

/*
 * Redis goes away under a running app (a TCP proxy between them is cut): limits keep holding, counted
 * in memory (never "no limit"), the outage is logged once and /readyz says 503; when Redis is back the
 * app uses it again without a restart.
 */
describe.runIf(!!process.env.TEST_REDIS_URL)("Redis outage", () => {
  let proxy: TcpProxy;
  let t: TestServer;
  const { logger, lines } = captureLogs();

  beforeAll(async () => {
    const target = new URL(process.env.TEST_REDIS_URL!);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    t = await startTestServer({
      logger,
      env: {
        RATE_LIMITS: "on",
        RATE_LIMIT_REGISTER: "3/1h",
        TRUST_PROXY: "true",
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_PREFIX: `test:${randomUUID()}:`,
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  const register = (ip: string) =>
    t
      .gql(REGISTER, { input: { email: uniqueEmail("redis"), password: STRONG_PASSWORD, fullName: "Redis" } }, { headers: { "x-forwarded-for": ip } })
      .then((r) => r.body.errors?.[0]?.extensions.code ?? "OK");

  const readyz = async () => {
    const res = await fetch(`${t.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };

  it("keeps limiting in memory while Redis is away, logs it once, and goes back to Redis", async () => {
    expect((await readyz()).body.checks).toMatchObject({ redis: "ok", rateLimits: "redis" });

    await proxy.stop();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await register("198.51.100.7"));
    expect(during).toEqual(["OK", "OK", "OK", "RATE_LIMITED", "RATE_LIMITED"]);
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks).toMatchObject({ redis: "unavailable", rateLimits: "degraded" });
    expect(lines.filter((l) => l.includes("Redis does not answer"))).toHaveLength(1);

    await proxy.start();
    let ready = await readyz();
    for (let i = 0; i < 60 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await readyz();
    }
    expect(ready.status).toBe(200);
    // Counting in Redis again (a fresh address: the in-memory counts are not copied over).
    const after = [];
    for (let i = 0; i < 4; i++) after.push(await register("198.51.100.8"));
    expect(after).toEqual(["OK", "OK", "OK", "RATE_LIMITED"]);
    expect((await readyz()).body.checks).toMatchObject({ redis: "ok", rateLimits: "redis" });
    expect(lines.filter((l) => l.includes("Redis is back"))).toHaveLength(1);
  });
});
