/*
 * `npm start` as a supervisor runs it (API.md §6): the signal goes to npm's own pid, and the server must
 * drain and exit 0 with nothing left behind; a shutdown that hangs on a dependency ends within its
 * deadline, non-zero, naming what it waited for. The server runs from a build in a temporary tree
 * (the repository's package.json, drizzle/ and node_modules), so the test never touches dist/.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree } from "./support/built-tree.js";
import { backend, createPostgresDatabase } from "./support/database.js";
import { startStallingProxy, type StallingProxy } from "./support/stalling-proxy.js";
import { TEST_JWT_SECRET } from "./support/server.js";
import { accepts } from "./support/net.js";

/** main.ts: the 10 s HTTP grace period plus 5 s for the rest. */
const SHUTDOWN_DEADLINE_MS = 15_000;

let tree: ReturnType<typeof buildTree> | undefined;

/** The built tree, made once per file and only when a test needs it. */
function builtTree(): string {
  tree ??= buildTree("gatehouse-start-");
  return tree.dir;
}

interface NpmStart {
  npm: ChildProcess;
  port: number;
  /** The node process npm runs the server in. */
  serverPid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in the built tree on PORT=0; resolves once the server logs that it is ready. */
function npmStart(dir: string, env: Record<string, string>): Promise<NpmStart> {
  const npm = spawn("npm", ["start"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 45_000);
    let ready = false;
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      // Output keeps coming after "ready" (request and shutdown lines): look for the server's pid once only,
      // while npm's child is surely alive, never again after it has gone.
      if (ready) return;
      const m = /"port":(\d+)[^\n]*Gatehouse ready/.exec(out);
      if (!m) return;
      ready = true;
      clearTimeout(timer);
      const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(npm.pid)], { encoding: "utf8" }).trim().split(/\s+/);
      resolve({ npm, port: Number(m[1]), serverPid: Number(children[0]), output: () => out, exited });
    };
    npm.stdout!.on("data", onData);
    npm.stderr!.on("data", onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before the server was ready:\n${out}`));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


afterAll(() => tree?.remove());

describe.skipIf(backend !== "pglite")("npm start and SIGTERM (embedded database)", () => {
  let dataDir: string;
  beforeAll(() => {
    builtTree();
    dataDir = mkdtempSync(join(tmpdir(), "gatehouse-data-"));
  }, 120_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("runs node in npm's place, drains on the signal npm receives, exits 0 and leaves nothing behind", async () => {
    const run = await npmStart(builtTree(), { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET });
    try {
      expect(run.serverPid).toBeGreaterThan(0);
      // npm's child is node itself (exec): no shell in between to swallow the signal.
      expect(execFileSync("ps", ["-o", "comm=", "-p", String(run.serverPid)], { encoding: "utf8" }).trim()).toBe("node");
      const health = await fetch(`http://127.0.0.1:${run.port}/healthz`);
      expect(health.status).toBe(200);

      process.kill(run.npm.pid!, "SIGTERM");
      const { code } = await run.exited;
      expect(code).toBe(0);
      expect(run.output()).toContain('"msg":"stopped"');
      // npm waits for its child, so by now the server is gone, and so is its port.
      expect(isAlive(run.serverPid)).toBe(false);
      expect(await accepts(run.port)).toBe(false);
    } finally {
      if (isAlive(run.serverPid)) process.kill(run.serverPid, "SIGKILL");
    }
  }, 90_000);

  it("takes a signal sent to the whole process group (Ctrl-C) as one, not as a second signal", async () => {
    const run = await npmStart(builtTree(), { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET });
    try {
      // Ctrl-C signals every process of the foreground job: node directly, and npm, which forwards its copy.
      process.kill(run.serverPid, "SIGINT");
      process.kill(run.npm.pid!, "SIGINT");
      const { code } = await run.exited;
      expect(run.output()).not.toContain("second signal");
      expect(code).toBe(0);
      expect(isAlive(run.serverPid)).toBe(false);
    } finally {
      if (isAlive(run.serverPid)) process.kill(run.serverPid, "SIGKILL");
    }
  }, 90_000);
});

describe.skipIf(backend !== "postgres")("shutdown deadline (PostgreSQL that stops answering)", () => {
  let proxy: StallingProxy;
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    builtTree();
    db = await createPostgresDatabase();
    const target = new URL(db.url);
    proxy = await startStallingProxy(target.hostname, Number(target.port || 5432));
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
  });

  it("exits non-zero within the deadline and logs what it was still waiting for", async () => {
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const run = await npmStart(builtTree(), { DATABASE_URL: url.toString(), JWT_SECRET: TEST_JWT_SECRET });
    try {
      // Connections made before the stall hang; new ones would fail fast on connect_timeout instead.
      expect((await fetch(`http://127.0.0.1:${run.port}/readyz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500));
      proxy.stall();
      // Let the outbox worker's next poll go out and hang on the silent database.
      await new Promise((r) => setTimeout(r, 1500));
      const signalled = Date.now();
      process.kill(run.npm.pid!, "SIGTERM");
      const { code } = await run.exited;
      const took = Date.now() - signalled;
      expect(code, run.output()).toBe(1);
      expect(took).toBeGreaterThanOrEqual(SHUTDOWN_DEADLINE_MS - 500);
      expect(took).toBeLessThan(SHUTDOWN_DEADLINE_MS + 5_000);
      const line = run.output().split("\n").find((l) => l.includes("shutdown did not finish in time"));
      expect(line, run.output()).toBeDefined();
      expect(JSON.parse(line!).waitingFor).toEqual(["outbox"]);
      expect(isAlive(run.serverPid)).toBe(false);
      expect(await accepts(run.port)).toBe(false);
    } finally {
      if (isAlive(run.serverPid)) process.kill(run.serverPid, "SIGKILL");
    }
  }, 90_000);
});
