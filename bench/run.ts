/**
 * Gatehouse benchmarks: ratios measured side by side in one run (absolute times drift on shared
 * machines). `npm run bench` (10k / 100k / 1M users) or `npm run bench:quick` (5k / 20k / 50k).
 * Needs PostgreSQL (BENCH_DATABASE_URL, default the local test server); creates its own databases.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { SignJWT, generateKeyPair, jwtVerify } from "jose";
import postgres from "postgres";
import { encodeCursor } from "../src/admin/users-connection.service.js";
import { loadConfig } from "../src/config.js";
import { sealTotpSecret } from "../src/auth/mfa/mfa-codes.js";
import { generateTotpSecret, totpCodeAt } from "../src/auth/mfa/totp.js";
import { startServerProcess, type ServerProcess } from "../scripts/server-process.js";
import { gql, interleavedMedians, load, median, probe, rssMb, withCpuSplit, type CpuSplit } from "./lib.js";
import { BENCH_PASSWORD, seed } from "./seed.js";

const quick = process.argv.includes("--quick");
const BASE_URL = process.env["BENCH_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const SIZES = quick ? { small: 5_000, mid: 20_000, large: 50_000 } : { small: 10_000, mid: 100_000, large: 1_000_000 };
const LOAD_SECONDS = quick ? 5 : 15;
const M1_SECONDS = quick ? 10 : 60;
const CONNECTIONS = 20;
/** The server runs as `npm start` runs it: same node flags (the old-space limit among them). */
const START_FLAGS = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: { start: string } }).scripts.start
  .split(" ")
  .filter((arg) => arg.startsWith("--"));
const ARGON2 = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123456789";
// Production requires it; the TOTP seeding below seals secrets under it as the server does.
const ENCRYPTION_SECRET = "bench-encryption-Xq7Lm2Vz9Rt4Kp8Wn1Hd6Fs3Gb0Yc5e";

const figures: Record<string, number> = {};
function record(name: string, value: number, unit = ""): number {
  figures[name] = Math.round(value * 1000) / 1000;
  console.log(`${name} = ${figures[name]}${unit}`);
  return value;
}

/** Records where a load's CPU went, per request, as info figures. */
function recordCpu(name: string, cpu: CpuSplit): void {
  record(`${name}.server_cpu_ms_per_req`, cpu.server, " ms");
  record(`${name}.postgres_cpu_ms_per_req`, cpu.postgres, " ms");
  record(`${name}.loadgen_cpu_ms_per_req`, cpu.loadgen, " ms");
}

interface Instance {
  size: number;
  /** Its database's URL. */
  url: string;
  sql: postgres.Sql;
  server: ServerProcess;
  token: string;
  drop: () => Promise<void>;
}

/** A production server process on `databaseUrl`, limits that never bind; `env` adds or overrides variables. */
function startBenchServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const huge = "100000000/1m"; // limits stay on (production refuses RATE_LIMITS=off) but never bind
  return startServerProcess(
    {
      NODE_ENV: "production",
      DATABASE_URL: databaseUrl,
      JWT_SECRET,
      ENCRYPTION_SECRET,
      ACCESS_TOKEN_TTL: "2h",
      MAIL_TRANSPORT: "log",
      ...Object.fromEntries(
        [
          "REGISTER",
          "LOGIN",
          "LOGIN_ACCOUNT",
          "LOGIN_IP",
          "REQUEST_PASSWORD_RESET",
          "REQUEST_PASSWORD_RESET_IP",
          "CHANGE_PASSWORD",
          "RESEND_VERIFICATION_EMAIL",
          "REFRESH_TOKEN",
          "MFA_CODE",
        ].map(
          (n) => [`RATE_LIMIT_${n}`, huge],
        ),
      ),
      ...env,
    },
    120_000,
    "built",
    // node's flags as `npm start` gives them, then e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    [...START_FLAGS, ...(process.env["BENCH_NODE_ARGS"]?.split(" ").filter(Boolean) ?? [])],
  );
}

async function startInstance(size: number, passwordHash: string): Promise<Instance> {
  const name = `gatehouse_bench_${size}`;
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const server = await startBenchServer(url.toString());
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const t0 = performance.now();
  await seed(sql, size, passwordHash);
  console.log(`seeded ${size.toLocaleString("en")} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { login } = await gql<{ login: { accessToken: string } }>(
    server,
    `mutation { login(input: {email: "bench.admin@example.com", password: "${BENCH_PASSWORD}"}) { accessToken } }`,
  );
  return {
    size,
    url: url.toString(),
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

type Measure = "P1" | "P1b" | "P2" | "P2b" | "P3" | "P3b" | "P4" | "P5" | "P6" | "P7" | "M1";
const ALL: Measure[] = ["P1", "P1b", "P2", "P2b", "P3", "P3b", "P4", "P5", "P6", "P7", "M1"];

/** Which way each ratio improves, for the comparison with the last run. */
const RATIO_DIRECTION: Record<string, "higher" | "lower"> = {
  "P1.ratio": "higher",
  "P1b.ratio": "higher",
  "P2.ratio": "higher",
  "P2b.ratio": "lower",
  "P3.ratio": "lower",
  "P3b.ratio": "lower",
  "P4.ratio": "lower",
  "P5.ratio": "lower",
  "M1.growth_run3_vs_run1": "lower",
};

/** P6/P7's info figures: a steady rate every build sustains on two cores. */
const STEADY_RPS = 1000;
const STEADY_SECONDS = quick ? 5 : 10;

/**
 * What node:http alone costs per request on this machine: a server that reads the body and answers
 * `{ __typename }`'s bytes, in a process of its own with the server's node flags. The floor under the floor.
 */
async function startBareHttp(): Promise<{ url: string; pid: number; stop: () => void }> {
  const code = `
    const body = '{"data":{"__typename":"Query"}}';
    require("node:http").createServer((req, res) => {
      req.on("data", () => {});
      req.on("end", () => { res.setHeader("content-type", "application/json"); res.end(body); });
    }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const child = spawn(process.execPath, [...START_FLAGS, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", (c) => reject(new Error(`bare node:http exited with ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}/graphql`, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

/** CPU ms per request of `pid` under `rounds` steady loads, the mean over rounds. */
async function steadyCpu(pid: number, url: string, body: unknown, token?: string): Promise<CpuSplit & { rps: number }> {
  const r = await withCpuSplit(pid, () => load(url, body, { token, seconds: STEADY_SECONDS, connections: 10, rate: STEADY_RPS }));
  return { ...r.cpu, rps: r.rps };
}

/**
 * `count` users of the instance with TOTP on (ASCII addresses only: the seed's "müller" addresses are
 * stored, but login's input validation refuses them), each with a secret of its own, sealed as the server seals
 * it (under the same ENCRYPTION_SECRET). Each is used once,
 * so no verifyMfa meets a spent step.
 */
async function seedTotpUsers(instance: Instance, count: number): Promise<Array<{ email: string; secret: string }>> {
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET, ENCRYPTION_SECRET });
  const rows = await instance.sql<{ id: string; email: string }[]>`
    select id, email from users where role = 'USER' and is_active and deleted_at is null and email not like 'bench.%'
      and email ~ '^[a-z0-9.@-]+$' order by id limit ${count}`;
  const users = rows.map((r) => ({ ...r, secret: generateTotpSecret() }));
  for (const u of users) {
    await instance.sql`insert into user_mfa (user_id, totp_secret, totp_enabled_at) values
      (${u.id}, ${sealTotpSecret(config, u.id, u.secret)}, now()) on conflict (user_id) do nothing`;
  }
  return users;
}
/**
 * One jose jwtVerify of a token never seen before, ES256 against HS256, in this process (µs each, the
 * mean of 2000): what a cache miss costs the server, and what a resource server pays per fresh token.
 */
async function verifyCostMicros(): Promise<{ es256: number; hs256: number }> {
  const es = await generateKeyPair("ES256");
  const hs = new TextEncoder().encode(JWT_SECRET);
  const sign = (alg: "ES256" | "HS256") =>
    new SignJWT({ sid: "s" }).setProtectedHeader({ alg }).setSubject("u").setExpirationTime("1h").sign(alg === "ES256" ? es.privateKey : hs);
  const time = async (alg: "ES256" | "HS256") => {
    const tokens = await Promise.all(Array.from({ length: 2000 }, () => sign(alg)));
    const t0 = performance.now();
    for (const token of tokens) await jwtVerify(token, alg === "ES256" ? es.publicKey : hs, { algorithms: [alg] });
    return ((performance.now() - t0) * 1000) / tokens.length;
  };
  return { es256: await time("ES256"), hs256: await time("HS256") };
}

/** `--only=P1,M1` runs some measures (and seeds only the sizes they need), for profiling one at a time. */
const onlyArg = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const selected = onlyArg ? ALL.filter((m) => onlyArg.split(",").includes(m)) : ALL;

const table: Array<{ id: Measure; measure: string; result: string; met: boolean }> = [];
function target(id: Measure, measure: string, result: string, met: boolean): void {
  table.push({ id, measure, result, met });
}

async function main(): Promise<void> {
  if (selected.length === 0) throw new Error(`--only: none of ${onlyArg} is one of ${ALL.join(", ")}`);
  console.log(`Gatehouse benchmark (${quick ? "quick" : "full"}) on ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}: ${selected.join(" ")}`);
  console.log(`server: node ${START_FLAGS.join(" ")} dist/server/main.js`);
  const passwordHash = await hash(BENCH_PASSWORD, ARGON2);
  const started: Instance[] = [];
  const instanceOf = async (size: number) => {
    const existing = started.find((i) => i.size === size);
    if (existing) return existing;
    const instance = await startInstance(size, passwordHash);
    started.push(instance);
    return instance;
  };
  const gqlUrl = (i: Instance) => `${i.server.url}/graphql`;
  const run = (m: Measure) => selected.includes(m);
  try {
    const large = await instanceOf(SIZES.large);
    const pid = large.server.child.pid!;

    if (run("P1")) {
      // me vs __typename on the same server.
      const typename = await withCpuSplit(pid, () => load(gqlUrl(large), { query: "{ __typename }" }, { seconds: LOAD_SECONDS, connections: CONNECTIONS }));
      const me = await withCpuSplit(pid, () =>
        load(gqlUrl(large), { query: "{ me { id email role } }" }, { token: large.token, seconds: LOAD_SECONDS, connections: CONNECTIONS }),
      );
      record("P1.typename_rps", typename.rps);
      record("P1.me_rps", me.rps);
      recordCpu("P1.info.typename", typename.cpu);
      recordCpu("P1.info.me", me.cpu);
      const p1 = record("P1.ratio", me.rps / typename.rps);
      target("P1", "me rps / __typename rps", `${p1.toFixed(2)} (>= 0.5)`, p1 >= 0.5);
    }

    if (run("P1b")) {
      // me with ES256 (JWT_ALGORITHM's default: `large` runs it) next to HS256: a second server on the
      // same database with JWT_ALGORITHM=HS256, the same admin, loads in turns (ES, HS, ES, HS) so both
      // see the same moments of the machine. Each client resends one token: the verified-token LRU makes
      // the signature a once-per-token cost, which the in-process figures below show uncached.
      const hs = await startBenchServer(large.url, { JWT_ALGORITHM: "HS256" });
      try {
        const LOGIN_ADMIN = `mutation { login(input: {email: "bench.admin@example.com", password: "${BENCH_PASSWORD}"}) { accessToken } }`;
        const hsToken = (await gql<{ login: { accessToken: string } }>(hs, LOGIN_ADMIN)).login.accessToken;
        const ME = { query: "{ me { id email role } }" };
        const rps = { es: [] as number[], hs: [] as number[] };
        for (let round = 0; round < 2; round++) {
          rps.es.push((await load(gqlUrl(large), ME, { token: large.token, seconds: LOAD_SECONDS, connections: CONNECTIONS })).rps);
          rps.hs.push((await load(`${hs.url}/graphql`, ME, { token: hsToken, seconds: LOAD_SECONDS, connections: CONNECTIONS })).rps);
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        record("P1b.me_es256_rps", mean(rps.es));
        record("P1b.me_hs256_rps", mean(rps.hs));
        const uncached = await verifyCostMicros();
        record("P1b.info.verify_es256_us", uncached.es256, " µs");
        record("P1b.info.verify_hs256_us", uncached.hs256, " µs");
        const p1b = record("P1b.ratio", mean(rps.es) / mean(rps.hs));
        target("P1b", "me rps ES256 / HS256", `${p1b.toFixed(2)} (>= 0.9: the LRU hides the signature)`, p1b >= 0.9);
      } finally {
        await hs.stop("SIGTERM");
      }
    }

    if (run("P2")) {
      // login vs raw argon2 verifications, same parameters and concurrency, in turns (login, argon2, login,
      // argon2) so that both see the same moments of the machine: argon2's speed alone drifts by 20% within
      // minutes on a shared host. /healthz is probed every 50 ms during each login flood, as a load balancer
      // would: a latency probe, not a second load.
      const loginBody = { query: `mutation { login(input: {email: "bench.user@example.com", password: "${BENCH_PASSWORD}"}) { accessToken } }` };
      const rounds = 2;
      const logins: Array<{ rps: number; requests: number; cpu: CpuSplit }> = [];
      const healthTimes = { p99: [] as number[], max: [] as number[] };
      let verified = 0;
      let argon2CpuMsTotal = 0;
      for (let round = 0; round < rounds; round++) {
        const [login, health] = await Promise.all([
          withCpuSplit(pid, () => load(gqlUrl(large), loginBody, { seconds: LOAD_SECONDS, connections: CONNECTIONS })),
          probe(`${large.server.url}/healthz`, LOAD_SECONDS),
        ]);
        logins.push(login);
        healthTimes.p99.push(health.p99);
        healthTimes.max.push(health.max);
        const argon2Cpu = process.cpuUsage();
        const deadline = performance.now() + LOAD_SECONDS * 1000;
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async () => {
            while (performance.now() < deadline) {
              await verify(passwordHash, BENCH_PASSWORD);
              verified += 1;
            }
          }),
        );
        argon2CpuMsTotal += (({ user, system }) => (user + system) / 1000)(process.cpuUsage(argon2Cpu));
      }
      const loginRps = logins.reduce((sum, l) => sum + l.rps, 0) / rounds;
      const verifyRate = verified / (LOAD_SECONDS * rounds);
      // CPU per login over both rounds, weighted by the logins of each.
      const loginCount = logins.reduce((sum, l) => sum + l.requests, 0);
      const cpuOf = (k: keyof CpuSplit) => logins.reduce((sum, l) => sum + l.cpu[k] * l.requests, 0) / Math.max(loginCount, 1);
      const loginCpu: CpuSplit = { server: cpuOf("server"), postgres: cpuOf("postgres"), loadgen: cpuOf("loadgen") };
      const argon2CpuMs = argon2CpuMsTotal / Math.max(verified, 1);
      record("P2.login_rps", loginRps);
      record("P2.argon2_verify_per_s", verifyRate);
      recordCpu("P2.info.login", loginCpu);
      // What a login costs the server beside its one verification (this process's CPU per verify, all threads).
      record("P2.info.argon2_cpu_ms_per_verify", argon2CpuMs, " ms");
      record("P2.info.server_cpu_beside_argon2_ms", loginCpu.server - argon2CpuMs, " ms");
      const p2 = record("P2.ratio", loginRps / verifyRate);
      const p2health = record("P2.healthz_p99_ms", Math.max(...healthTimes.p99), " ms");
      record("P2.info.healthz_max_ms", Math.max(...healthTimes.max), " ms");
      target("P2", "login rps / argon2 verify/s", `${p2.toFixed(2)} (>= 0.8)`, p2 >= 0.8);
      target("P2", "/healthz p99 during login flood", `${p2health.toFixed(1)} ms (<= 50)`, p2health <= 50);
    }

    if (run("P2b")) {
      // verifyMfa next to login: a TOTP user's second step must cost a code check and a few writes, not
      // a second argon2. Each round: one login (argon2), then one verifyMfa of a pending session opened
      // beforehand (its login untimed), each by a user of its own.
      const rounds = quick ? 30 : 100;
      const totpUsers = await seedTotpUsers(large, rounds);
      const LOGIN = `mutation ($e: String!) { login(input: {email: $e, password: "${BENCH_PASSWORD}"}) { accessToken mfaRequired } }`;
      const pending: string[] = [];
      for (const u of totpUsers) {
        const { login } = await gql<{ login: { accessToken: string; mfaRequired: boolean } }>(large.server, LOGIN, { e: u.email });
        if (!login.mfaRequired) throw new Error("P2b: a TOTP user's login was not pending");
        pending.push(login.accessToken);
      }
      const VERIFY = "mutation ($c: String!) { verifyMfa(code: $c) { accessToken mfaRequired } }";
      const [loginP50, verifyP50] = (await interleavedMedians(rounds, [
        () => gql(large.server, LOGIN, { e: "bench.user@example.com" }),
        (i) => gql(large.server, VERIFY, { c: totpCodeAt(totpUsers[i]!.secret, Math.floor(Date.now() / 1000)) }, pending[i]),
      ])) as [number, number];
      record("P2b.login_p50_ms", loginP50, " ms");
      record("P2b.verify_mfa_p50_ms", verifyP50, " ms");
      const p2b = record("P2b.ratio", verifyP50 / loginP50);
      target("P2b", "verifyMfa p50 / login p50", `${p2b.toFixed(2)} (<= 0.5: no second argon2)`, p2b <= 0.5);
    }

    if (run("P3")) {
      // Substring search with total: p50 latency at large vs small, each search on its own (timed to the
      // microsecond), small and large in turns so both see the same moments of the machine, after a
      // 4-connection load on each that warms both servers up. That load's p50 is info only.
      const small = await instanceOf(SIZES.small);
      const bodies = await Promise.all([small, large].map(async (i) => ({ query: SEARCH, variables: { q: await fragmentOf(i) } })));
      for (const [k, i] of [small, large].entries()) {
        const concurrent = await load(gqlUrl(i), bodies[k], { token: i.token, seconds: LOAD_SECONDS, connections: 4 });
        record(`P3.info.search_p50_x4_${k === 0 ? "small" : "large"}_ms`, concurrent.p50, " ms");
      }
      const [smallP50, largeP50] = await interleavedMedians(
        quick ? 200 : 500,
        [small, large].map((i, k) => () => gql(i.server, SEARCH, bodies[k]!.variables, i.token)),
      );
      record("P3.search_p50_small_ms", smallP50!, " ms");
      record("P3.search_p50_large_ms", largeP50!, " ms");
      const p3 = record("P3.ratio", largeP50! / smallP50!);
      const common = await median(quick ? 50 : 100, () => gql(large.server, SEARCH, { q: "smith" }, large.token));
      record("P3.info.common_term_p50_large_ms", common, " ms");
      // Short, common terms, small and large in turns: "42@" (1% of users: 10,000 at 1M, still counted) and
      // "smith" (2.5%: estimated above 10,000 matches), with whether each total was counted.
      const EXACT = "query ($q: String!) { users(filter: {query: $q}, page: 1, size: 20) { total totalIsExact } }";
      for (const term of ["42@", "smith"]) {
        const key = term.replace(/\W/g, "");
        const [s, l] = await interleavedMedians(
          quick ? 30 : 60,
          [small, large].map((i) => () => gql(i.server, SEARCH, { q: term }, i.token)),
        );
        record(`P3.info.${key}_p50_small_ms`, s!, " ms");
        record(`P3.info.${key}_p50_large_ms`, l!, " ms");
        const { users } = await gql<{ users: { total: number; totalIsExact: boolean } }>(large.server, EXACT, { q: term }, large.token);
        record(`P3.info.${key}_total_large`, users.total);
        record(`P3.info.${key}_total_is_exact_large`, users.totalIsExact ? 1 : 0);
      }
      target("P3", `search p50 ${SIZES.large} / ${SIZES.small}`, `${p3.toFixed(2)} (<= 1.5)`, p3 <= 1.5);
    }

    if (run("P3b")) {
      // A keyset page after half the table vs the first page.
      const half = Math.floor(SIZES.large / 2);
      const [deepRow] = await large.sql<{ key: string; id: string }[]>`
        select created_at::text as key, id from users where deleted_at is null order by created_at desc, id desc offset ${half} limit 1`;
      const after = encodeCursor({ sortBy: "CREATED_AT", sortOrder: "DESC", key: deepRow!.key, id: deepRow!.id });
      const PAGE = "query ($after: String) { usersConnection(first: 20, after: $after) { edges { node { id email } } pageInfo { hasNextPage endCursor } } }";
      const first = await load(gqlUrl(large), { query: PAGE, variables: {} }, { token: large.token, seconds: LOAD_SECONDS, connections: 4 });
      const deep = await load(gqlUrl(large), { query: PAGE, variables: { after } }, { token: large.token, seconds: LOAD_SECONDS, connections: 4 });
      record("P3b.first_page_p50_ms", first.p50, " ms");
      record("P3b.deep_page_p50_ms", deep.p50, " ms");
      const p3b = record("P3b.ratio", deep.p50 / Math.max(first.p50, 1));
      target("P3b", "deep keyset page / first page", `${p3b.toFixed(2)} (<= 2)`, p3b <= 2);
    }

    if (run("P4")) {
      // userStats at large vs mid, and its absolute time at large.
      const mid = await instanceOf(SIZES.mid);
      const STATS =
        "{ userStats { total active inactive deleted verified unverified byRole { role count } " +
        "activeLast24h activeLast7d activeLast30d newLast7d newLast30d registrations(days: 30) { date count } } }";
      const statsMid = record("P4.stats_p50_mid_ms", await median(quick ? 5 : 10, () => gql(mid.server, STATS, undefined, mid.token)), " ms");
      const statsLarge = record("P4.stats_p50_large_ms", await median(quick ? 5 : 10, () => gql(large.server, STATS, undefined, large.token)), " ms");
      const p4 = record("P4.ratio", statsLarge / statsMid);
      target("P4", `userStats ${SIZES.large} / ${SIZES.mid}`, `${p4.toFixed(2)} (<= 12)`, p4 <= 12);
      target("P4", `userStats at ${SIZES.large}`, `${statsLarge.toFixed(0)} ms (< 1000)`, statsLarge < 1000);
    }

    if (run("P5")) {
      // bulkUsers of 1000 ids vs one updateUser (each call changes what it names).
      const ids = (
        await large.sql<{ id: string }[]>`select id from users where role = 'USER' and deleted_at is null and email not like 'bench.%' limit 1000`
      ).map((r) => r.id);
      // In turns, so a checkpoint or a noisy moment falls on both measures alike.
      const [single, bulk] = (await interleavedMedians(quick ? 9 : 21, [
        (i) =>
          gql(
            large.server,
            "mutation ($id: ID!, $n: String!) { updateUser(id: $id, input: {fullName: $n}) { id } }",
            { id: ids[0], n: `Bench ${i}` },
            large.token,
          ),
        (i) =>
          gql(
            large.server,
            "mutation ($ids: [ID!]!, $op: BulkOperation!) { bulkUsers(input: {userIds: $ids, operation: $op}) { requested } }",
            { ids, op: i % 2 ? "ACTIVATE" : "DEACTIVATE" },
            large.token,
          ),
      ])) as [number, number];
      record("P5.update_user_p50_ms", single, " ms");
      record("P5.bulk_1000_p50_ms", bulk, " ms");
      const p5 = record("P5.ratio", bulk / single);
      target("P5", "bulkUsers(1000) / updateUser", `${p5.toFixed(2)} (<= 20)`, p5 <= 20);
    }

    if (run("P6") || run("P7")) {
      // Server CPU per request, as the issue measured it: under a saturating load (20 connections), and
      // as info at a steady 1000 rps, where nothing is batched (one write per answer, one wake-up per
      // request). Gatehouse and a bare node:http server in turns, two rounds each, so every figure sees
      // the same moments of the machine.
      const bare = await startBareHttp();
      try {
        const TYPENAME = { query: "{ __typename }" };
        const ME = { query: "{ me { id email role } }" };
        type Case = "bare" | "typename" | "me";
        const cases: Array<{ name: Case; pid: number; url: string; body: unknown; token?: string }> = [
          { name: "bare", pid: bare.pid, url: bare.url, body: TYPENAME },
          ...(run("P6") ? [{ name: "typename" as const, pid, url: gqlUrl(large), body: TYPENAME }] : []),
          ...(run("P7") ? [{ name: "me" as const, pid, url: gqlUrl(large), body: ME, token: large.token }] : []),
        ];
        const saturated = new Map<Case, CpuSplit[]>();
        const steady = new Map<Case, CpuSplit[]>();
        // Warm every case (JIT, connections, the verified-token cache) before anything is counted.
        for (const c of cases) await load(c.url, c.body, { token: c.token, seconds: 2, connections: CONNECTIONS });
        for (let round = 0; round < 2; round++) {
          for (const c of cases) {
            const full = await withCpuSplit(c.pid, () => load(c.url, c.body, { token: c.token, seconds: STEADY_SECONDS, connections: CONNECTIONS }));
            saturated.set(c.name, [...(saturated.get(c.name) ?? []), full.cpu]);
            steady.set(c.name, [...(steady.get(c.name) ?? []), await steadyCpu(c.pid, c.url, c.body, c.token)]);
          }
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const server = (m: Map<Case, CpuSplit[]>, c: Case) => mean(m.get(c)!.map((x) => x.server));
        record("P6.info.bare_node_http_cpu_ms_per_req", server(saturated, "bare"), " ms");
        record("P6.info.bare_node_http_cpu_ms_per_req_at_rate", server(steady, "bare"), " ms");
        if (run("P6")) {
          const floor = record("P6.typename_cpu_ms_per_req", server(saturated, "typename"), " ms");
          record("P6.info.typename_cpu_ms_per_req_at_rate", server(steady, "typename"), " ms");
          target("P6", `{ __typename } server CPU per request (${CONNECTIONS} connections)`, `${floor.toFixed(3)} ms (<= 0.15)`, floor <= 0.15);
        }
        if (run("P7")) {
          const me = record("P7.me_cpu_ms_per_req", server(saturated, "me"), " ms");
          record("P7.info.me_cpu_ms_per_req_at_rate", server(steady, "me"), " ms");
          record("P7.info.me_postgres_cpu_ms_per_req", mean(saturated.get("me")!.map((x) => x.postgres)), " ms");
          if (run("P6")) record("P7.info.me_over_typename_ms", me - figures["P6.typename_cpu_ms_per_req"]!, " ms");
          target("P7", `me server CPU per request (${CONNECTIONS} connections; session and user read each time)`, `${me.toFixed(3)} ms (<= 0.22)`, me <= 0.22);
        }
      } finally {
        bare.stop();
      }
    }

    if (run("M1")) {
      // Resident memory during `me` at 50 connections, three runs.
      const peaks: number[] = [];
      for (let i = 1; i <= 3; i++) {
        let peak = 0;
        const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 500);
        await load(gqlUrl(large), { query: "{ me { id email role } }" }, { token: large.token, seconds: M1_SECONDS, connections: 50 });
        clearInterval(timer);
        peaks.push(record(`M1.rss_peak_run${i}_mb`, peak, " MB"));
      }
      const growth = record("M1.growth_run3_vs_run1", peaks[2]! / peaks[0]!);
      const top = Math.max(...peaks);
      target("M1", "peak RSS during me x50", `${top.toFixed(0)} MB (<= 300)`, top <= 300);
      target("M1", "growth run 3 / run 1", `${growth.toFixed(2)} (<= 1.10)`, growth <= 1.1);
    }

    console.log("\n| id | measure | result (target) | met |\n| --- | --- | --- | --- |");
    for (const t of table) console.log(`| ${t.id} | ${t.measure} | ${t.result} | ${t.met ? "yes" : "NO"} |`);

    // Goal: no ratio worse by more than 10% than the last run of the same mode (absolute figures drift
    // with the machine; ratios measured side by side do not).
    const previousFile = new URL(`./results/latest-${quick ? "quick" : "full"}.json`, import.meta.url);
    const previous = existsSync(previousFile)
      ? (JSON.parse(readFileSync(previousFile, "utf8")) as { at: string; figures: Record<string, number> })
      : undefined;
    if (previous) {
      console.log(`\n| ratio | last run (${previous.at.slice(0, 10)}) | this run | change | within 10% |\n| --- | --- | --- | --- | --- |`);
      for (const [name, better] of Object.entries(RATIO_DIRECTION)) {
        const before = previous.figures[name];
        const now = figures[name];
        if (before === undefined || now === undefined) continue;
        const worse = better === "higher" ? before / now - 1 : now / before - 1;
        console.log(`| ${name} (${better} is better) | ${before} | ${now} | ${((now / before - 1) * 100).toFixed(0)}% | ${worse <= 0.1 ? "yes" : "NO"} |`);
      }
    }

    const out = {
      mode: quick ? "quick" : "full",
      measures: selected,
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      sizes: SIZES,
      figures,
      targets: table,
    };
    const name = `${out.mode}${onlyArg ? `-${selected.join("-")}` : ""}`;
    mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
    const file = new URL(`./results/${name}-${out.at.replace(/[:.]/g, "-")}.json`, import.meta.url);
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    // Only a run of every measure becomes "latest": the README's table is one run's.
    if (!onlyArg) writeFileSync(new URL(`./results/latest-${out.mode}.json`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote ${file.pathname}`);
  } finally {
    for (const i of started) await i.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
