/* Provider configuration (API.md §8): checked at start-up, naming the variable; an unreachable issuer is not a crash. */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "./support/logs.js";
import { configProblems } from "./support/config.js";
import { ME } from "./support/login.js";
import { COMPLETE_LOGIN, PROVIDERS, START_LOGIN, fieldErrorOf, startLogin } from "./support/oauth.js";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.js";
import { ok } from "./support/mfa.js";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "./support/server.js";

const base = { NODE_ENV: "test", JWT_SECRET: TEST_JWT_SECRET };

describe("OAuth configuration", () => {
  it("names a listed provider's missing variables", () => {
    const problems = configProblems({ ...base, OIDC_PROVIDERS: "google,corp", OIDC_GOOGLE_ISSUER: "https://accounts.google.com", OIDC_GOOGLE_CLIENT_ID: "x" });
    expect(problems).toEqual([
      expect.stringContaining("OIDC_CORP_ISSUER is required"),
      expect.stringContaining("OIDC_CORP_CLIENT_ID is required"),
    ]);
  });

  it("accepts http:// issuers on localhost outside production only", () => {
    const local = { OIDC_PROVIDERS: "corp", OIDC_CORP_ISSUER: "http://127.0.0.1:9000", OIDC_CORP_CLIENT_ID: "x" };
    expect(configProblems({ ...base, ...local })).toEqual([]);
    expect(configProblems({ ...base, ...local, OIDC_CORP_ISSUER: "http://idp.example.com" })).toEqual([expect.stringMatching(/^OIDC_CORP_ISSUER: must be an https/)]);
    const prod = configProblems({ ...base, ...local, NODE_ENV: "production", MAIL_TRANSPORT: "log" });
    expect(prod).toContainEqual(expect.stringMatching(/^OIDC_CORP_ISSUER: must be an https:\/\/ URL in production/));
  });

  it("wants GitHub's id and secret together, and refuses github as an OIDC name", () => {
    expect(configProblems({ ...base, GITHUB_CLIENT_ID: "x" })).toEqual([expect.stringContaining("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET")]);
    expect(configProblems({ ...base, OIDC_PROVIDERS: "github" })).toEqual([expect.stringContaining("OIDC_PROVIDERS")]);
  });
});

/** A port nothing listens on (for now). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a provider unreachable at start-up", () => {
  let idp: TestIdp;
  let late: TestIdp | undefined;
  let t: TestServer;
  let downPort: number;
  let clock = 1_000_000;
  const logs = captureLogs("warn");

  beforeAll(async () => {
    idp = await startTestIdp();
    downPort = await freePort();
    t = await startTestServer({
      env: {
        ...idp.env(),
        OIDC_PROVIDERS: "down,local",
        OIDC_DOWN_ISSUER: `http://127.0.0.1:${downPort}`,
        OIDC_DOWN_CLIENT_ID: "gatehouse",
        OIDC_DOWN_CLIENT_SECRET: "x",
      },
      logger: logs.logger,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
    await late?.close();
  });

  it("is logged, left out of oauthProviders, and the server serves", async () => {
    expect(logs.lines.join("")).toMatch(/"provider":"down".*oauth provider unavailable/);
    expect(ok(await t.gql<{ oauthProviders: string[] }>(PROVIDERS)).oauthProviders).toEqual(["local"]);
    expect(fieldErrorOf(await t.gql(START_LOGIN, { p: "down" }))).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "provider" }] });
    expect(fieldErrorOf(await t.gql(ME))).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await startLogin(t, "local")).authorizationUrl).toContain(idp.issuer);
  });

  it("is discovered on a use after its backoff once it answers", async () => {
    late = await startTestIdp({ port: downPort });
    // Within the backoff: not tried again.
    expect(fieldErrorOf(await t.gql(START_LOGIN, { p: "down" }))).toMatchObject({ code: "BAD_USER_INPUT" });
    clock += 10 * 60_000;
    expect((await startLogin(t, "down")).authorizationUrl).toContain(late.issuer);
    expect(ok(await t.gql<{ oauthProviders: string[] }>(PROVIDERS)).oauthProviders.sort()).toEqual(["down", "local"]);
  });
});

describe("rate limits", () => {
  let idp: TestIdp;
  let t: TestServer;
  beforeAll(async () => {
    idp = await startTestIdp();
    t = await startTestServer({ env: { ...idp.env(), RATE_LIMITS: "on", RATE_LIMIT_OAUTH_START: "2/1h", RATE_LIMIT_OAUTH_COMPLETE: "2/1h" } });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it("limits starting and completing per client address", async () => {
    const starts = [];
    for (let i = 0; i < 3; i++) starts.push(await t.gql(START_LOGIN, { p: "local" }));
    expect(starts.map((r) => r.body.errors?.[0]?.extensions.code ?? "OK")).toEqual(["OK", "OK", "RATE_LIMITED"]);
    const completes = [];
    for (let i = 0; i < 3; i++) completes.push(await t.gql(COMPLETE_LOGIN, { f: "7d0c5d1e-0000-4000-8000-000000000000", u: "http://localhost:3000/oauth/callback" }));
    expect(completes.map((r) => r.body.errors?.[0]?.extensions.code)).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "RATE_LIMITED"]);
  });
});
