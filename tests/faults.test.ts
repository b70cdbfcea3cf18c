import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { LOGIN, REGISTER, onlyError, signUp } from "./support/flows.js";
import { backend, createPostgresDatabase } from "./support/database.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.js";

/*
 * The database goes away under a running app (a TCP proxy between them is cut): requests fail fast
 * with SERVICE_UNAVAILABLE, /readyz says 503, and when the database returns the app recovers by
 * itself, with every acknowledged write still there. PostgreSQL only: PGlite runs in-process.
 */
describe.runIf(backend === "postgres")("PostgreSQL outage", () => {
  let proxy: TcpProxy;
  let t: TestServer;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    const { url, drop } = await createPostgresDatabase();
    dropDb = drop;
    const target = new URL(url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const database = await openDatabase({ url: viaProxy.toString(), max: 4 });
    t = await startTestServer({
      testDb: { database, url: viaProxy.toString(), drop: () => database.close() },
    });
  });

  afterAll(async () => {
    await t?.close();
    await t?.testDb.drop();
    await proxy?.close();
    await dropDb?.();
  });

  it("answers SERVICE_UNAVAILABLE while the database is away, then recovers without a restart, losing no write", async () => {
    const before = await signUp(t);
    const during = uniqueEmail("during");

    await proxy.stop();
    const me = await t.gql("{ me { id } }", undefined, { token: before.accessToken });
    expect(onlyError(me).extensions.code).toBe("SERVICE_UNAVAILABLE");
    expect(onlyError(me).message).not.toMatch(/ECONN|127\.0\.0\.1|postgres/i);
    const write = await t.gql(REGISTER, { input: { email: during, password: STRONG_PASSWORD, fullName: "During" } });
    expect(onlyError(write).extensions.code).toBe("SERVICE_UNAVAILABLE");
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { database: "unavailable" } });
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);

    await proxy.start();
    // Back without a restart: the pool reconnects on the next query.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${t.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    const again = await t.gql<{ me: { id: string } }>("{ me { id } }", undefined, { token: before.accessToken });
    expect(again.body.data?.me.id).toBe(before.id);
    const login = await t.gql(LOGIN, { input: { email: before.email, password: before.password } });
    expect(login.body.errors).toBeUndefined();
    // The write refused during the outage was not half-done: the address is still free.
    const retry = await t.gql(REGISTER, { input: { email: during, password: STRONG_PASSWORD, fullName: "During" } });
    expect(retry.body.errors).toBeUndefined();
  });
});
