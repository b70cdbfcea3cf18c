/* Runs the server as a child process, as an operator would: for the multi-instance tests and the benchmarks. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const root = join(import.meta.dirname, "..");

/**
 * Starts the server as its own process (PORT=0) and resolves once it says it is ready: from source
 * through tsx by default, or the built `dist/server/main.js` (benchmarks), with `nodeArgs` before it.
 */
export function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
  entry: "source" | "built" = "source",
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const args = [...nodeArgs, ...(entry === "built" ? ["dist/server/main.js"] : ["--import", "tsx", "src/server/main.ts"])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      // Keep the tail only: a benchmark's server logs a line per request.
      out = (out + chunk.toString()).slice(-65_536);
      const m = /"port":(\d+)[^\n]*Gatehouse ready/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: `http://127.0.0.1:${m[1]}`,
          child,
          output: () => out,
          stop: async (signal = "SIGTERM") => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${out}`));
    });
  });
}
