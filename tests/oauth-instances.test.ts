/* Flows live in the database: any instance finishes a flow another started, and a flow is spent once across instances. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { backend } from "./support/database.js";
import { auditRows } from "./support/audit.js";
import { completeLogin, startLogin } from "./support/oauth.js";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let idp: TestIdp;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  idp = await startTestIdp();
  a = await startTestServer({ env: idp.env() });
  // On PostgreSQL the second instance has a pool of its own on the same database, as a second process would.
  const database = a.testDb.url ? await openDatabase({ url: a.testDb.url, max: 5 }) : a.testDb.database;
  b = await startTestServer({ env: idp.env(), testDb: { ...a.testDb, database, drop: async () => {} } });
});
afterAll(async () => {
  await b?.close();
  if (a?.testDb.url) await b?.deps.database.close();
  await a?.close();
  await idp?.close();
});

function person(): string {
  const sub = `sub-${uniqueEmail("i").split("@")[0]}`;
  idp.accounts.set(sub, { email: uniqueEmail("inst"), email_verified: true });
  return sub;
}

describe("two instances on one database", () => {
  it("each finishes the other's flows", async () => {
    for (const [starter, finisher] of [[a, b], [b, a]] as const) {
      const start = await startLogin(starter);
      const callback = await idp.authorize(start.authorizationUrl, person());
      const res = await completeLogin(finisher, start.flowId, callback);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.completeOAuthLogin.accessToken).toBeTruthy();
    }
  });

  it("spends a flow once when both instances complete it at the same moment", async () => {
    const start = await startLogin(a);
    const callback = await idp.authorize(start.authorizationUrl, person());
    const results = await Promise.all([completeLogin(a, start.flowId, callback), completeLogin(b, start.flowId, callback)]);
    const codes = results.map((r) => r.body.errors?.[0]?.extensions.code ?? "OK").sort();
    expect(codes).toEqual(["BAD_USER_INPUT", "OK"]);
    const winner = results.find((r) => r.body.data?.completeOAuthLogin)!.body.data!.completeOAuthLogin;
    expect(await auditRows(a, { action: "user.registered", targetId: winner.user.id })).toHaveLength(1);
  });

  it.runIf(backend === "postgres")("makes one account when two identities with one verified email sign up at once (PostgreSQL)", async () => {
    const email = uniqueEmail("race");
    const subs = [`race-a-${email}`, `race-b-${email}`];
    for (const sub of subs) idp.accounts.set(sub, { email, email_verified: true });
    const starts = await Promise.all([startLogin(a), startLogin(b)]);
    const callbacks = await Promise.all(starts.map((s, i) => idp.authorize(s.authorizationUrl, subs[i]!)));
    const results = await Promise.all([completeLogin(a, starts[0]!.flowId, callbacks[0]!), completeLogin(b, starts[1]!.flowId, callbacks[1]!)]);
    const ids = results.map((r) => r.body.data?.completeOAuthLogin.user.id ?? r.body.errors?.[0]?.extensions.code);
    // The unique index decides: one insert wins, the other sees that account and links to it (both verified).
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(await auditRows(a, { action: "user.registered", targetId: ids[0] as string })).toHaveLength(1);
  });
});
