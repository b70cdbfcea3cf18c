/*
 * The deployment recipe, run (issue 13 item 14): the shipped examples/deploy/nginx.conf in front of two
 * built instances on PostgreSQL + Redis with TRUST_PROXY=1, as an operator would run them. The site file
 * is copied with only its upstream ports, listen address and log path substituted, and included from a
 * minimal main config that keeps every nginx path in a temporary prefix (nginx runs as this user, no
 * system paths). Needs nginx and the PostgreSQL backend; skipped, saying why, otherwise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree } from "./support/built-tree.js";
import { backend, createPostgresDatabase } from "./support/database.js";
import { LOGIN, REGISTER } from "./support/flows.js";
import {
  call as callAt,
  findExecutable,
  freePort,
  nginxPrefix,
  outcome,
  startNginx,
  waitUntil,
  type Call,
  type NginxPrefix,
  type Reply,
  type RunningNginx,
} from "./support/nginx.js";
import { STRONG_PASSWORD, TEST_ENCRYPTION_SECRET, TEST_JWT_SECRET, uniqueEmail } from "./support/server.js";

const METRICS_TOKEN = "metrics-token-that-is-at-least-32-bytes-long";

const nginxBin = findExecutable("nginx");
const skipReason = !nginxBin
  ? "nginx is not installed (.ci/run installs it)"
  : backend !== "postgres" || !process.env.TEST_REDIS_URL
    ? "needs the PostgreSQL backend with Redis (TEST_DATABASE_URL and TEST_REDIS_URL)"
    : undefined;

let nginxPort = 0;
const call = (options: Omit<Call, "port">) => callAt({ ...options, port: nginxPort });
const gql = (query: string, variables?: Record<string, unknown>, options: Omit<Call, "port" | "body"> = {}) =>
  call({ ...options, body: { query, variables } });

interface Instance {
  port: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe.skipIf(skipReason !== undefined)(`nginx in front of two instances${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let tree: ReturnType<typeof buildTree>;
  let prefix: NginxPrefix;
  let db: { url: string; drop: () => Promise<void> };
  let nginx: RunningNginx;
  const instances: Instance[] = [];
  let env: Record<string, string>;

  /** `node dist/server/main.js` of the built tree on a fixed port (nginx's upstream), as the unit runs it. */
  function startInstance(port: number): Promise<Instance> {
    const child = spawn(process.execPath, ["dist/server/main.js"], {
      cwd: tree.dir,
      env: { ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        out = (out + chunk.toString()).slice(-200_000);
        if (out.includes("Gatehouse ready")) resolve({ port, child, output: () => out, exited });
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      void exited.then((code) => reject(new Error(`instance on ${port} exited with ${code} before it was ready:\n${out}`)));
    });
  }

  const accessLog = () => readFileSync(join(prefix.dir, "access.log"), "utf8");

  beforeAll(async () => {
    tree = buildTree("gatehouse-deploy-");
    db = await createPostgresDatabase();
    const [portA, portB, listen] = await Promise.all([freePort(), freePort(), freePort()]);
    nginxPort = listen;
    // The shipped site file with these substitutions only.
    prefix = nginxPrefix((dir) => [
      ["server 127.0.0.1:4001 ", `server 127.0.0.1:${portA} `],
      ["server 127.0.0.1:4002 ", `server 127.0.0.1:${portB} `],
      ["    listen 80;\n    server_name api.example.com;", `    listen 127.0.0.1:${listen};\n    server_name api.example.com;`],
      ["/var/log/nginx/gatehouse.access.log", join(dir, "access.log")],
    ]);

    env = {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: `test:${randomUUID()}:`,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET,
      MAIL_TRANSPORT: "log",
      TRUST_PROXY: "1",
      METRICS_TOKEN,
      RATE_LIMIT_REGISTER: "3/1h",
      // The rolling restart's load logs in over and over from one address.
      RATE_LIMIT_LOGIN: "100000/15m",
      RATE_LIMIT_LOGIN_IP: "100000/15m",
      RATE_LIMIT_LOGIN_ACCOUNT: "100000/1h",
    };
    instances.push(...(await Promise.all([startInstance(portA), startInstance(portB)])));

    nginx = await startNginx(nginxBin!, prefix, listen);
  }, 180_000);

  afterAll(async () => {
    await nginx?.stop();
    for (const i of instances) if (i.child.exitCode === null) i.child.kill("SIGKILL");
    await Promise.all(instances.map((i) => i.exited));
    await db?.drop();
    tree?.remove();
    prefix?.remove();
  }, 60_000);

  const register = (from: string, headers: Record<string, string> = {}) =>
    gql(REGISTER, { input: { email: uniqueEmail("nginx"), password: STRONG_PASSWORD, fullName: "Behind Nginx" } }, { from, headers });

  it("tells real clients apart by the address nginx forwards, and a spoofed X-Forwarded-For changes nothing", async () => {
    // RATE_LIMIT_REGISTER=3/1h per client address, shared by both instances through Redis.
    const first = [await register("127.0.0.2"), await register("127.0.0.2"), await register("127.0.0.2")];
    expect(first.map(outcome)).toEqual(["OK", "OK", "OK"]);
    expect(outcome(await register("127.0.0.2"))).toBe("RATE_LIMITED");
    // Writing another address in front of nginx's does not make a new client: nginx appends the real one.
    expect(outcome(await register("127.0.0.2", { "x-forwarded-for": "198.51.100.7" }))).toBe("RATE_LIMITED");
    expect(outcome(await register("127.0.0.2", { "x-forwarded-for": "127.0.0.3" }))).toBe("RATE_LIMITED");
    // Another client still passes.
    expect(outcome(await register("127.0.0.3"))).toBe("OK");

    // And its sessions record its own address, not nginx's (127.0.0.1) nor one it made up.
    const email = uniqueEmail("nginx-ip");
    expect(outcome(await gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Address" } }, { from: "127.0.0.4" }))).toBe("OK");
    const login = await gql(LOGIN, { input: { email, password: STRONG_PASSWORD } }, { from: "127.0.0.5", headers: { "x-forwarded-for": "203.0.113.9" } });
    const token = (login.json.data?.["login"] as { accessToken: string }).accessToken;
    const sessions = await gql("{ mySessions { ip } }", undefined, { from: "127.0.0.6", headers: { authorization: `Bearer ${token}` } });
    expect(sessions.json.data).toEqual({ mySessions: [{ ip: "127.0.0.5" }] });
  });

  it("forwards the request id, keeps /metrics and every non-API path internal, and matches the app's body limit", async () => {
    // A client's id goes through to the app and comes back; without one, nginx's $request_id is used.
    const own = await gql("{ __typename }", undefined, { headers: { "x-request-id": "client-chosen-id.42" } });
    expect(own.headers["x-request-id"]).toBe("client-chosen-id.42");
    const generated = await gql("{ __typename }");
    expect(generated.headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
    // nginx logs a request after answering it: the line may come a moment after the response.
    await waitUntil(() => accessLog().includes(`rid=${String(generated.headers["x-request-id"])} upstream=127.0.0.1:`), "the access log line");

    // The app serves /metrics to this token (METRICS_TOKEN is set); through nginx it does not exist.
    const direct = await fetch(`http://127.0.0.1:${instances[0]!.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(direct.status).toBe(200);
    for (const path of ["/metrics", "/METRICS", "/metrics/", "/%6Detrics", "/graphql/../metrics", "/readyz"]) {
      const r = await call({ path, method: "GET", headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect({ path, status: r.status, metrics: r.text.includes("process_cpu") }).toEqual({ path, status: 404, metrics: false });
    }
    expect((await call({ path: "/healthz", method: "GET" })).json).toEqual({ status: "ok" });
    // The signing keys are public: one key, though both instances started at once on an empty database.
    const jwks = await call({ path: "/.well-known/jwks.json", method: "GET" });
    expect(jwks.headers["cache-control"]).toBe("public, max-age=300");
    expect((jwks.json as { keys: Array<{ kid: string }> }).keys).toHaveLength(1);
    expect(((await call({ path: "/.well-known/openid-configuration", method: "GET" })).json as { issuer: string }).issuer).toBe("gatehouse");

    // 100kb (102400 bytes) is the app's limit: a body of exactly that size reaches the app, one byte
    // more is refused by nginx itself (no X-Request-Id: the request never reached an instance), in
    // the app's answer shape.
    const query = "{ __typename }";
    const body = (size: number) => {
      const base = JSON.stringify({ query });
      return `${base.slice(0, -1)}${" ".repeat(size - base.length)}}`;
    };
    const atLimit = await call({ body: body(102_400) });
    expect({ status: atLimit.status, data: atLimit.json.data }).toEqual({ status: 200, data: { __typename: "Query" } });
    const over = await call({ body: body(102_401) });
    expect(over.status).toBe(413);
    expect(over.headers["x-request-id"]).toBeUndefined();
    expect(over.json.errors?.[0]?.extensions.code).toBe("BAD_USER_INPUT");
  });

  // Written against API.md §6's cookie transport, built in parallel: fails until that work is merged.
  it("carries the refresh-token cookie flow: login, refresh without an argument, logout", async () => {
    const email = uniqueEmail("nginx-cookie");
    expect(outcome(await gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Cookie" } }, { from: "127.0.0.7" }))).toBe("OK");
    const cookieOf = (r: Reply) => {
      const set = [r.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("gh_refresh="));
      expect(set, `a gh_refresh cookie in ${JSON.stringify(r.headers)}`).toBeDefined();
      return set!;
    };
    const transport = { "x-auth-transport": "cookie" };

    const login = await gql(LOGIN, { input: { email, password: STRONG_PASSWORD } }, { headers: transport });
    expect(outcome(login)).toBe("OK");
    expect((login.json.data?.["login"] as { refreshToken: string | null }).refreshToken).toBeNull();
    const first = cookieOf(login);
    expect(first).toMatch(/;\s*Path=\/graphql(;|$)/i);
    expect(first).toMatch(/;\s*HttpOnly(;|$)/i);
    const value = (c: string) => c.split(";")[0]!;

    // The API's own origin (the Host nginx forwards, with its port) is not a cross-site request.
    const refreshed = await gql("mutation { refreshToken { accessToken refreshToken } }", undefined, {
      headers: { ...transport, cookie: value(first), origin: `http://127.0.0.1:${nginxPort}` },
    });
    expect(outcome(refreshed)).toBe("OK");
    const pair = refreshed.json.data?.["refreshToken"] as { accessToken: string; refreshToken: string | null };
    expect(pair.refreshToken).toBeNull();
    const second = cookieOf(refreshed);
    expect(value(second)).not.toBe(value(first));
    expect((await gql("{ me { email } }", undefined, { headers: { authorization: `Bearer ${pair.accessToken}` } })).json.data).toEqual({ me: { email } });

    const logout = await gql("mutation { logout }", undefined, { headers: { ...transport, cookie: value(second) } });
    expect(logout.json.data).toEqual({ logout: true });
    expect(cookieOf(logout)).toMatch(/^gh_refresh=;|Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    const after = await gql("mutation { refreshToken { accessToken } }", undefined, { headers: { ...transport, cookie: value(second) } });
    expect(outcome(after)).toBe("UNAUTHENTICATED");
  });

  it("rolls a SIGTERM through both instances under steady load without a failed request", async () => {
    const email = uniqueEmail("nginx-load");
    expect(outcome(await gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Load" } }, { from: "127.0.0.8" }))).toBe("OK");

    // A few clients with keep-alive connections to nginx, as browsers and SDKs have.
    let running = true;
    const done: string[] = [];
    const failures: string[] = [];
    const client = async (kind: "typename" | "login") => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (running) {
          const r =
            kind === "typename"
              ? await gql("{ __typename }", undefined, { agent }).catch((e: Error) => e)
              : await gql(LOGIN, { input: { email, password: STRONG_PASSWORD } }, { agent }).catch((e: Error) => e);
          if (r instanceof Error) failures.push(`${kind}: ${r.message}`);
          else if (outcome(r) !== "OK") failures.push(`${kind}: ${r.status} ${r.text.slice(0, 200)}`);
          else done.push(kind);
        }
      } finally {
        agent.destroy();
      }
    };
    const clients = [...Array.from({ length: 8 }, () => client("typename")), client("login"), client("login")];

    /** Waits until nginx's access log shows `port` answering requests after `since` (a log length). */
    const serves = (port: number, since: number) =>
      waitUntil(() => accessLog().slice(since).includes(`upstream=127.0.0.1:${port} upstream_status=200`), `instance ${port} to serve again`);

    try {
      await Promise.all(instances.map((i) => serves(i.port, 0)));
      for (const index of [0, 1]) {
        const old = instances[index]!;
        const before = done.length;
        old.child.kill("SIGTERM");
        expect(await old.exited, old.output()).toBe(0);
        expect(old.output()).toContain('"msg":"stopped"');
        expect(old.output()).not.toContain("in-flight requests did not finish in time");
        // Once stopping, it answered only what was already in flight (at most one request per client,
        // as each client waits for its answer): its connections did not stay in nginx's pool.
        const afterSignal = old.output().split('"msg":"shutting down"')[1] ?? "";
        expect(afterSignal.split('"msg":"graphql request"').length - 1).toBeLessThanOrEqual(clients.length);
        // The other instance carried the load meanwhile.
        await waitUntil(() => done.length > before + 20, "requests while one instance is down");
        const mark = accessLog().length;
        instances[index] = await startInstance(old.port);
        await serves(old.port, mark);
      }
      await waitUntil(() => done.filter((k) => k === "login").length > 10, "logins");
    } finally {
      running = false;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(done.length).toBeGreaterThan(100);
  }, 120_000);
});
