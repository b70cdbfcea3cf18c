/** What the benchmark measures with: load, sequential timings, and CPU time per process (for profiles). */
import { readdirSync, readFileSync } from "node:fs";
import autocannon from "autocannon";
import type { ServerProcess } from "../scripts/server-process.js";

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

export interface LoadOptions {
  token?: string | undefined;
  seconds: number;
  connections: number;
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as the server answers. */
  rate?: number | undefined;
}

/** autocannon from this (the bench) process against a server in another process. */
export async function load(url: string, body: unknown, options: LoadOptions): Promise<Load> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

/**
 * A latency probe, as a load balancer's health check is: one GET every `intervalMs` (never two at once),
 * each timed on its own. Unlike a second full-speed load it takes next to no CPU from what it watches.
 */
export async function probe(url: string, seconds: number, intervalMs = 50): Promise<{ p50: number; p99: number; max: number; requests: number }> {
  const get = async () => {
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  };
  await get(); // untimed: the connection is open and the route warm, as a balancer's would be
  const times: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    await get();
    const took = performance.now() - t0;
    times.push(took);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - took)));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1]!, requests: times.length };
}

export async function gql<T>(server: ServerProcess, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

/**
 * Medians (ms) of `runs` rounds of sequential calls, the calls of a round one after another: two measures
 * taken this way see the same moments of the machine (a checkpoint, a noisy neighbour) side by side.
 */
export async function interleavedMedians(runs: number, calls: ReadonlyArray<(i: number) => Promise<unknown>>): Promise<number[]> {
  const times = calls.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, call] of calls.entries()) {
      const t0 = performance.now();
      await call(i);
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

/** Median latency (ms) of `runs` sequential calls. */
export async function median(runs: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const [only] = await interleavedMedians(runs, [call]);
  return only!;
}

export const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process in ms, 0 once it is gone. */
function cpuMsOf(pid: number): number {
  try {
    // Fields after the ")" that closes comm: state is field 3, utime 14 and stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres") pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

export interface CpuSplit {
  /** CPU ms per request spent by the server process, PostgreSQL (all its processes) and the load generator. */
  server: number;
  postgres: number;
  loadgen: number;
}

/**
 * Runs `work` and splits the machine's CPU time over server, PostgreSQL and this process: on 2 shared
 * cores, requests/s alone cannot say which of the three a measure is paying for.
 */
export async function withCpuSplit<T extends { requests: number }>(serverPid: number, work: () => Promise<T>): Promise<T & { cpu: CpuSplit }> {
  const pgBefore = new Map(postgresPids().map((pid) => [pid, cpuMsOf(pid)]));
  const serverBefore = cpuMsOf(serverPid);
  const selfBefore = process.cpuUsage();
  const result = await work();
  const self = process.cpuUsage(selfBefore);
  const serverMs = cpuMsOf(serverPid) - serverBefore;
  let pgMs = 0;
  for (const pid of new Set([...pgBefore.keys(), ...postgresPids()])) pgMs += Math.max(0, cpuMsOf(pid) - (pgBefore.get(pid) ?? 0));
  const per = (ms: number) => ms / Math.max(result.requests, 1);
  return { ...result, cpu: { server: per(serverMs), postgres: per(pgMs), loadgen: per((self.user + self.system) / 1000) } };
}
