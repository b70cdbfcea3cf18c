/*
 * nginx for the deployment tests: examples/deploy/nginx.conf in a temporary prefix, with only the
 * substitutions a test names, under a minimal main config that keeps every nginx path in that prefix (no
 * system paths; nginx runs as the current user), and a plain HTTP client that can pick its loopback
 * source address.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request, type Agent, type IncomingHttpHeaders } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { accepts } from "./net.js";

/** The shipped site config. */
export const SHIPPED_SITE = join(import.meta.dirname, "../../examples/deploy/nginx.conf");

/** The path of an executable on PATH (or in the sbin directories, which a non-root PATH lacks). */
export function findExecutable(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/bin"]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface NginxPrefix {
  dir: string;
  /** The main config to pass with -c. */
  conf: string;
  remove(): void;
}

/**
 * A prefix with the shipped site file (each `[from, to]` replaced, and each `from` required exactly once,
 * so a changed file fails the test instead of silently testing something else) under a main config.
 */
export function nginxPrefix(substitutions: (dir: string) => Array<[string, string]>, site = readFileSync(SHIPPED_SITE, "utf8")): NginxPrefix {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-nginx-"));
  // nginx started as root runs its workers as nobody: they must be able to enter the prefix.
  chmodSync(dir, 0o755);
  for (const [from, to] of substitutions(dir)) {
    const count = site.split(from).length - 1;
    if (count !== 1) throw new Error(`examples/deploy/nginx.conf should contain ${JSON.stringify(from)} once, not ${count} times`);
    site = site.replace(from, to);
  }
  writeFileSync(join(dir, "gatehouse.conf"), site);
  // What /etc/nginx/nginx.conf provides around a site file, with every path in the prefix.
  const paths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((p) => `  ${p}_temp_path ${join(dir, p)};`).join("\n");
  const conf = join(dir, "nginx.conf");
  const http = `http {\n${paths}\n  access_log off;\n  include ${join(dir, "gatehouse.conf")};\n}\n`;
  writeFileSync(conf, `worker_processes 1;\nevents { worker_connections 1024; }\n${http}`);
  return { dir, conf, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The -g directives that keep the pid file and the error log in the prefix. */
const globals = (prefix: NginxPrefix) => `pid ${join(prefix.dir, "nginx.pid")}; error_log ${join(prefix.dir, "error.log")} info;`;

/** `nginx -t` on the prefix: its exit status and what it printed. */
export function nginxTest(nginx: string, prefix: NginxPrefix): { status: number | null; output: string } {
  const r = spawnSync(nginx, ["-t", "-p", prefix.dir, "-c", prefix.conf, "-g", globals(prefix)], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface RunningNginx {
  child: ChildProcess;
  output(): string;
  /** Graceful stop (SIGQUIT), SIGKILL if it takes over 5 s. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground on the prefix and resolves once `port` accepts connections. */
export async function startNginx(nginx: string, prefix: NginxPrefix, port: number): Promise<RunningNginx> {
  const child = spawn(nginx, ["-p", prefix.dir, "-c", prefix.conf, "-g", `daemon off; ${globals(prefix)}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running: RunningNginx = {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${out}`);
    return accepts(port);
  }, "nginx to listen");
  return running;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms until it holds; rejects after `ms`. */
export function waitUntil(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = async () => {
      try {
        if (await check()) return resolve();
      } catch (err) {
        return reject(err instanceof Error ? err : new Error(String(err)));
      }
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void poll(), 50);
    };
    void poll();
  });
}


export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions: { code: string } }> };
}

export interface Call {
  port: number;
  path?: string;
  method?: string;
  body?: string | Record<string, unknown>;
  headers?: Record<string, string>;
  /** The client's own loopback address (127.0.0.2, …): what nginx sees as $remote_addr. */
  from?: string;
  /** A keep-alive agent; default: a connection of its own. */
  agent?: Agent;
}

/** One HTTP request to 127.0.0.1:`port`, the body as sent (a string) or as JSON. */
export function call({ port, path = "/graphql", method = "POST", body, headers = {}, from, agent }: Call): Promise<Reply> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        localAddress: from,
        agent: agent ?? false,
        headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          let json: Reply["json"] = {};
          try {
            json = JSON.parse(text) as Reply["json"];
          } catch {
            // not JSON: the test looks at text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** "OK", the first error code, or "HTTP <status>" for an answer without data. */
export const outcome = (r: Reply) =>
  r.json.errors?.length ? r.json.errors[0]!.extensions.code : r.status === 200 && r.json.data ? "OK" : `HTTP ${r.status}`;
