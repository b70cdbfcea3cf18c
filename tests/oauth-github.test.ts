/* GitHub sign-in against a local stub of its endpoints: only the primary, verified email counts. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditRows } from "./support/audit.js";
import { startGithubStub, type GithubStub } from "./support/github-stub.js";
import { MY_IDENTITIES, PROVIDERS, fieldErrorOf, socialLogin } from "./support/oauth.js";
import { ok } from "./support/mfa.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let gh: GithubStub;
let t: TestServer;
let nextId = 1000;

beforeAll(async () => {
  gh = await startGithubStub();
  t = await startTestServer({ env: gh.env() });
});
afterAll(async () => {
  await t?.close();
  await gh?.close();
});
beforeEach(() => t.reset());

const login = (id: number) => socialLogin(t, (url) => gh.authorize(url, id), "github");

function githubUser(emails: Array<{ email: string; primary: boolean; verified: boolean }>): number {
  const id = nextId++;
  gh.users.set(id, { id, login: `octo${id}`, name: null, emails });
  return id;
}

describe("GitHub sign-in", () => {
  it("is listed and signs up with the primary verified email; the identity is the numeric user id", async () => {
    expect(ok(await t.gql<{ oauthProviders: string[] }>(PROVIDERS)).oauthProviders).toEqual(["github"]);
    const primary = uniqueEmail("gh-primary");
    const id = githubUser([
      { email: uniqueEmail("gh-secondary"), primary: false, verified: true },
      { email: primary, primary: true, verified: true },
    ]);
    const session = ok(await login(id)).completeOAuthLogin;
    expect(session.user).toMatchObject({ email: primary, emailVerified: true });
    const ids = ok(await t.gql<{ myIdentities: Array<{ provider: string; subject: string }> }>(MY_IDENTITIES, {}, { token: session.accessToken }));
    expect(ids.myIdentities).toEqual([expect.objectContaining({ provider: "github", subject: String(id) })]);
    expect(ok(await login(id)).completeOAuthLogin.user.id).toBe(session.user.id);
  });

  it("refuses a GitHub account whose primary email is unverified, even with a verified secondary", async () => {
    const id = githubUser([
      { email: uniqueEmail("gh-unverified-primary"), primary: true, verified: false },
      { email: uniqueEmail("gh-verified-secondary"), primary: false, verified: true },
    ]);
    expect(fieldErrorOf(await login(id))).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "callbackUrl" }] });
    expect(await auditRows(t, { action: "user.registered" })).toHaveLength(0);
  });

  it("does not link a verified secondary address to the account that has it", async () => {
    const secondary = uniqueEmail("gh-sec");
    const first = githubUser([{ email: secondary, primary: true, verified: true }]);
    const owner = ok(await login(first)).completeOAuthLogin;
    const other = githubUser([
      { email: uniqueEmail("gh-own"), primary: true, verified: true },
      { email: secondary, primary: false, verified: true },
    ]);
    const res = ok(await login(other)).completeOAuthLogin;
    expect(res.user.id).not.toBe(owner.user.id);
  });
});
