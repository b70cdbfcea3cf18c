/**
 * Gatehouse benchmarks: ratios measured side by side in one run (absolute times drift on shared
 * machines). `npm run bench` (10k / 100k / 1M users) or `npm run bench:quick` (5k / 20k / 50k).
 * Needs PostgreSQL (BENCH_DATABASE_URL, default the local test server); creates its own databases.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import autocannon from "autocannon";
import postgres from "postgres";
import { encodeCursor } from "../src/admin/users-query.service.js";
import { startServerProcess, type ServerProcess } from "../tests/support/process.js";
import { BENCH_PASSWORD, seed } from "./seed.js";

const quick = process.argv.includes("--quick");
const BASE_URL = process.env["BENCH_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const SIZES = quick ? { small: 5_000, mid: 20_000, large: 50_000 } : { small: 10_000, mid: 100_000, large: 1_000_000 };
const LOAD_SECONDS = quick ? 5 : 15;
const M1_SECONDS = quick ? 10 : 60;
const CONNECTIONS = 20;
const ARGON2 = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

const figures: Record<string, number> = {};
function record(name: string, value: number, unit = ""): number {
  figures[name] = Math.round(value * 1000) / 1000;
  console.log(`${name} = ${figures[name]}${unit}`);
  return value;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
}

async function load(url: string, body: unknown, token: string | undefined, seconds: number, connections = CONNECTIONS): Promise<Load> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function gql<T>(server: ServerProcess, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

/** Median latency (ms) of `runs` sequential calls. */
async function median(runs: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await call(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

interface Instance {
  size: number;
  sql: postgres.Sql;
  server: ServerProcess;
  token: string;
  drop: () => Promise<void>;
}

async function startInstance(size: number, passwordHash: string): Promise<Instance> {
  const name = `gatehouse_bench_${size}`;
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const huge = "100000000/1m"; // limits stay on (production refuses RATE_LIMITS=off) but never bind
  const server = await startServerProcess(
    {
      NODE_ENV: "production",
      DATABASE_URL: url.toString(),
      JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
      ACCESS_TOKEN_TTL: "2h",
      MAIL_TRANSPORT: "log",
      ...Object.fromEntries(
        ["REGISTER", "LOGIN", "LOGIN_ACCOUNT", "REQUEST_PASSWORD_RESET", "REQUEST_PASSWORD_RESET_IP", "CHANGE_PASSWORD", "RESEND_VERIFICATION_EMAIL", "REFRESH_TOKEN"].map(
          (n) => [`RATE_LIMIT_${n}`, huge],
        ),
      ),
    },
    120_000,
    "built",
  );
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const t0 = performance.now();
  await seed(sql, size, passwordHash);
  console.log(`seeded ${size.toLocaleString("en")} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { login } = await gql<{ login: { accessToken: string } }>(server, `mutation { login(input: {email: "bench.admin@example.com", password: "${BENCH_PASSWORD}"}) { accessToken } }`);
  return {
    size,
    sql,
    server,
    token: login.accessToken,
    drop: async () => {
      await server.stop("SIGTERM");
      await sql.end();
      const cleanup = postgres(BASE_URL, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

const SEARCH = "query ($q: String!) { users(filter: {query: $q}, page: 1, size: 20) { total items { id email fullName } } }";

/** A fragment of one user's address from the middle of the table: "find any user by a fragment". */
async function fragmentOf(instance: Instance): Promise<string> {
  const [row] = await instance.sql<{ email: string }[]>`select email from users order by id offset ${Math.floor(instance.size / 2)} limit 1`;
  return row!.email.split("@")[0]!.slice(2);
}

async function main(): Promise<void> {
  console.log(`Gatehouse benchmark (${quick ? "quick" : "full"}) on ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}`);
  const passwordHash = await hash(BENCH_PASSWORD, ARGON2);
  const small = await startInstance(SIZES.small, passwordHash);
  const mid = await startInstance(SIZES.mid, passwordHash);
  const large = await startInstance(SIZES.large, passwordHash);
  const gqlUrl = (i: Instance) => `${i.server.url}/graphql`;
  try {
    // P1: me vs __typename on the same server.
    const typename = await load(gqlUrl(large), { query: "{ __typename }" }, undefined, LOAD_SECONDS);
    const me = await load(gqlUrl(large), { query: "{ me { id email role } }" }, large.token, LOAD_SECONDS);
    record("P1.typename_rps", typename.rps);
    record("P1.me_rps", me.rps);
    const p1 = record("P1.ratio", me.rps / typename.rps);

    // P2: login vs raw argon2 verifications, same parameters and concurrency; /healthz during the flood.
    const loginBody = { query: `mutation { login(input: {email: "bench.user@example.com", password: "${BENCH_PASSWORD}"}) { accessToken } }` };
    const [login, health] = await Promise.all([
      load(gqlUrl(large), loginBody, undefined, LOAD_SECONDS),
      load(`${large.server.url}/healthz`, undefined, undefined, LOAD_SECONDS, 1),
    ]);
    let verified = 0;
    const deadline = performance.now() + LOAD_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < deadline) {
          await verify(passwordHash, BENCH_PASSWORD);
          verified += 1;
        }
      }),
    );
    record("P2.login_rps", login.rps);
    record("P2.argon2_verify_per_s", verified / LOAD_SECONDS);
    const p2 = record("P2.ratio", login.rps / (verified / LOAD_SECONDS));
    const p2health = record("P2.healthz_p99_ms", health.p99, " ms");

    // P3: substring search with total, p50 at large vs small.
    const searchP50 = async (i: Instance) => (await load(gqlUrl(i), { query: SEARCH, variables: { q: await fragmentOf(i) } }, i.token, LOAD_SECONDS, 4)).p50;
    record("P3.search_p50_small_ms", await searchP50(small), " ms");
    record("P3.search_p50_large_ms", await searchP50(large), " ms");
    const p3 = record("P3.ratio", figures["P3.search_p50_large_ms"]! / Math.max(figures["P3.search_p50_small_ms"]!, 1));
    const common = await load(gqlUrl(large), { query: SEARCH, variables: { q: "smith" } }, large.token, LOAD_SECONDS, 4);
    record("P3.info.common_term_p50_large_ms", common.p50, " ms");

    // P3b: a keyset page after half the table vs the first page.
    const half = Math.floor(SIZES.large / 2);
    const [deepRow] = await large.sql<{ key: string; id: string }[]>`
      select created_at::text as key, id from users where deleted_at is null order by created_at desc, id desc offset ${half} limit 1`;
    const after = encodeCursor({ sortBy: "CREATED_AT", sortOrder: "DESC", key: deepRow!.key, id: deepRow!.id });
    const PAGE = "query ($after: String) { usersConnection(first: 20, after: $after) { edges { node { id email } } pageInfo { hasNextPage endCursor } } }";
    const first = await load(gqlUrl(large), { query: PAGE, variables: {} }, large.token, LOAD_SECONDS, 4);
    const deep = await load(gqlUrl(large), { query: PAGE, variables: { after } }, large.token, LOAD_SECONDS, 4);
    record("P3b.first_page_p50_ms", first.p50, " ms");
    record("P3b.deep_page_p50_ms", deep.p50, " ms");
    const p3b = record("P3b.ratio", deep.p50 / Math.max(first.p50, 1));

    // P4: userStats at large vs mid, and its absolute time at large.
    const STATS = "{ userStats { total active inactive deleted verified unverified byRole { role count } activeLast24h activeLast7d activeLast30d newLast7d newLast30d registrations(days: 30) { date count } } }";
    const statsMid = await median(quick ? 5 : 10, () => gql(mid.server, STATS, undefined, mid.token));
    const statsLarge = await median(quick ? 5 : 10, () => gql(large.server, STATS, undefined, large.token));
    record("P4.stats_p50_mid_ms", statsMid, " ms");
    record("P4.stats_p50_large_ms", statsLarge, " ms");
    const p4 = record("P4.ratio", statsLarge / statsMid);

    // P5: bulkUsers of 1000 ids vs one updateUser (each call changes what it names).
    const ids = (await large.sql<{ id: string }[]>`select id from users where role = 'USER' and deleted_at is null and email not like 'bench.%' limit 1000`).map((r) => r.id);
    const single = await median(quick ? 9 : 21, (i) =>
      gql(large.server, "mutation ($id: ID!, $n: String!) { updateUser(id: $id, input: {fullName: $n}) { id } }", { id: ids[0], n: `Bench ${i}` }, large.token),
    );
    const bulk = await median(quick ? 9 : 21, (i) =>
      gql(large.server, "mutation ($ids: [ID!]!, $op: BulkOperation!) { bulkUsers(input: {userIds: $ids, operation: $op}) { requested } }", { ids, op: i % 2 ? "ACTIVATE" : "DEACTIVATE" }, large.token),
    );
    record("P5.update_user_p50_ms", single, " ms");
    record("P5.bulk_1000_p50_ms", bulk, " ms");
    const p5 = record("P5.ratio", bulk / single);

    // M1: resident memory during `me` at 50 connections, three runs.
    const pid = large.server.child.pid!;
    const peaks: number[] = [];
    for (let run = 1; run <= 3; run++) {
      let peak = 0;
      const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 500);
      await load(gqlUrl(large), { query: "{ me { id email role } }" }, large.token, M1_SECONDS, 50);
      clearInterval(timer);
      peaks.push(record(`M1.rss_peak_run${run}_mb`, peak, " MB"));
    }
    const m1Growth = record("M1.growth_run3_vs_run1", peaks[2]! / peaks[0]!);

    const table: Array<[string, string, string, boolean]> = [
      ["P1", "me rps / __typename rps", `${p1.toFixed(2)} (>= 0.5)`, p1 >= 0.5],
      ["P2", "login rps / argon2 verify/s", `${p2.toFixed(2)} (>= 0.8)`, p2 >= 0.8],
      ["P2", "/healthz p99 during login flood", `${p2health} ms (<= 50)`, p2health <= 50],
      ["P3", `search p50 ${SIZES.large} / ${SIZES.small}`, `${p3.toFixed(2)} (<= 3)`, p3 <= 3],
      ["P3b", "deep keyset page / first page", `${p3b.toFixed(2)} (<= 2)`, p3b <= 2],
      ["P4", `userStats ${SIZES.large} / ${SIZES.mid}`, `${p4.toFixed(2)} (<= 12)`, p4 <= 12],
      ["P4", `userStats at ${SIZES.large}`, `${statsLarge.toFixed(0)} ms (< 1000)`, statsLarge < 1000],
      ["P5", "bulkUsers(1000) / updateUser", `${p5.toFixed(2)} (<= 20)`, p5 <= 20],
      ["M1", "peak RSS during me x50", `${Math.max(...peaks).toFixed(0)} MB (<= 300)`, Math.max(...peaks) <= 300],
      ["M1", "growth run 3 / run 1", `${m1Growth.toFixed(2)} (<= 1.10)`, m1Growth <= 1.1],
    ];
    console.log("\n| id | measure | result (target) | met |\n| --- | --- | --- | --- |");
    for (const [id, measure, result, met] of table) console.log(`| ${id} | ${measure} | ${result} | ${met ? "yes" : "NO"} |`);

    const out = {
      mode: quick ? "quick" : "full",
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      sizes: SIZES,
      figures,
      targets: table.map(([id, measure, result, met]) => ({ id, measure, result, met })),
    };
    mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
    const file = new URL(`./results/${quick ? "quick" : "full"}-${out.at.replace(/[:.]/g, "-")}.json`, import.meta.url);
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(new URL(`./results/latest-${quick ? "quick" : "full"}.json`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote ${file.pathname}`);
  } finally {
    for (const i of [small, mid, large]) await i.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
