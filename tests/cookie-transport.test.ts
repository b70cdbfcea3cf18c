import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { sessions } from "../src/db/schema.js";
import { LOGIN, expectUnauthenticated, onlyError, signUp, type TestUser } from "./support/flows.js";
import { CHANGE_PASSWORD } from "./support/profile.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";
import { sessionCalls, sessionIdOf } from "./support/sessions.js";

/*
 * The cookie transport (API.md §6): X-Auth-Transport: cookie moves the refresh token into the httpOnly
 * gh_refresh cookie; refreshToken / logout read it when the argument is absent; a cookie call from a
 * foreign browser origin is refused.
 */

const COOKIE_HEADERS = { "x-auth-transport": "cookie" };
const DAY = 24 * 60 * 60;

const REFRESH_FROM_COOKIE = /* GraphQL */ `
  mutation { refreshToken { accessToken refreshToken tokenType expiresIn user { id } } }
`;
const LOGOUT_FROM_COOKIE = /* GraphQL */ `
  mutation { logout }
`;

type Payload = { accessToken: string; refreshToken: string | null; user: { id: string } };

/** The one gh_refresh Set-Cookie header of a response, split into its value and attributes. */
function refreshCookie(res: GqlResponse<object>): { value: string; attributes: Record<string, string | true>; raw: string } {
  const all = res.headers.getSetCookie().filter((c) => c.startsWith("gh_refresh="));
  if (all.length !== 1) throw new Error(`expected one gh_refresh cookie, got ${JSON.stringify(res.headers.getSetCookie())}`);
  const [pair, ...attrs] = all[0]!.split(";").map((s) => s.trim());
  const attributes: Record<string, string | true> = {};
  for (const a of attrs) {
    const [k, v] = a.split("=");
    attributes[k!.toLowerCase()] = v ?? true;
  }
  return { value: pair!.slice("gh_refresh=".length), attributes, raw: all[0]! };
}

async function cookieLogin(t: TestServer, u: { email: string; password: string }) {
  const res = await t.gql<{ login: Payload }>(LOGIN, { input: { email: u.email, password: u.password } }, { headers: COOKIE_HEADERS });
  expect(res.body.errors).toBeUndefined();
  return { res, payload: res.body.data!.login, cookie: refreshCookie(res) };
}

const withCookie = (value: string, extra: Record<string, string> = {}) => ({
  headers: { ...COOKIE_HEADERS, cookie: `other=1; gh_refresh=${value}`, ...extra },
});

describe("cookie transport (development, plain http)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });
  const { me, expectMeWorks } = sessionCalls(() => t);

  it("answers refreshToken as a string and sets no cookie without the header", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ login: Payload }>(LOGIN, { input: { email: u.email, password: u.password } });
    expect(typeof res.body.data!.login.refreshToken).toBe("string");
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("with X-Auth-Transport: cookie sets an httpOnly, SameSite=Lax, /graphql cookie for the refresh TTL and answers refreshToken: null", async () => {
    const u: TestUser = await signUp(t);
    const { payload, cookie } = await cookieLogin(t, u);
    expect(payload.refreshToken).toBeNull();
    await expectMeWorks(payload.accessToken, u.id);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(cookie.attributes).toEqual({ httponly: true, samesite: "Lax", path: "/graphql", "max-age": String(30 * DAY) });
    // Plain http in development: a Secure cookie would be dropped by the browser.
    expect(cookie.attributes["secure"]).toBeUndefined();
  });

  it("refreshes from the cookie alone, rotating it, with no token in the answer (even without the header)", async () => {
    const u: TestUser = await signUp(t);
    const { payload, cookie } = await cookieLogin(t, u);

    const res = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.refreshToken.refreshToken).toBeNull();
    expect(sessionIdOf(res.body.data!.refreshToken.accessToken)).toBe(sessionIdOf(payload.accessToken));
    const next = refreshCookie(res);
    expect(next.value).not.toBe(cookie.value);
    await expectMeWorks(res.body.data!.refreshToken.accessToken, u.id);

    // The token came from the cookie, so the next one goes back there even if the header is forgotten.
    const bare = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, { headers: { cookie: `gh_refresh=${next.value}` } });
    expect(bare.body.errors).toBeUndefined();
    expect(bare.body.data!.refreshToken.refreshToken).toBeNull();
    expect(refreshCookie(bare).value).not.toBe(next.value);
  });

  it("prefers the argument over the cookie, and answers in the body when the header is absent", async () => {
    const u: TestUser = await signUp(t);
    const { cookie } = await cookieLogin(t, u);
    const res = await t.gql<{ refreshToken: Payload }>(
      /* GraphQL */ `mutation ($t: String) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }`,
      { t: u.refreshToken },
      { headers: { cookie: `gh_refresh=${cookie.value}` } },
    );
    expect(res.body.errors).toBeUndefined();
    expect(typeof res.body.data!.refreshToken.refreshToken).toBe("string");
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("answers UNAUTHENTICATED when neither the argument nor the cookie is there", async () => {
    expectUnauthenticated(await t.gql(REFRESH_FROM_COOKIE, {}, { headers: COOKIE_HEADERS }));
    expectUnauthenticated(await t.gql(REFRESH_FROM_COOKIE, {}, { headers: { cookie: "gh_refresh=; other=1" } }));
    expectUnauthenticated(await t.gql(LOGOUT_FROM_COOKIE, {}, { headers: COOKIE_HEADERS }));
    // An unknown cookie is the same error as an unknown argument.
    expectUnauthenticated(await t.gql(REFRESH_FROM_COOKIE, {}, withCookie(randomBytes(32).toString("base64url"))));
  });

  it("refuses a cookie refresh or logout from a foreign Origin with FORBIDDEN, spending nothing", async () => {
    const u: TestUser = await signUp(t);
    const { payload, cookie } = await cookieLogin(t, u);
    for (const origin of ["https://evil.example.com", "http://localhost.evil.example.com", "null", "http://localhost:5173.evil.com"]) {
      const refused = await t.gql(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value, { origin }));
      expect(onlyError(refused).extensions.code).toBe("FORBIDDEN");
      expect(refused.body.data ?? null).toBeNull();
      expect(refused.headers.getSetCookie()).toEqual([]);
      const logout = await t.gql(LOGOUT_FROM_COOKIE, {}, withCookie(cookie.value, { origin }));
      expect(onlyError(logout).extensions.code).toBe("FORBIDDEN");
      expect(logout.headers.getSetCookie()).toEqual([]);
    }
    await expectMeWorks(payload.accessToken, u.id);

    // The API's own origin, an allowed one (a local frontend in development) and no Origin at all pass.
    const own = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value, { origin: t.url }));
    expect(own.body.errors).toBeUndefined();
    const local = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(refreshCookie(own).value, { origin: "http://localhost:5173" }));
    expect(local.body.errors).toBeUndefined();
    const none = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(refreshCookie(local).value));
    expect(none.body.errors).toBeUndefined();
  });

  it("does not apply the Origin rule to a token passed as the argument (no browser attaches that by itself)", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ refreshToken: Payload }>(
      /* GraphQL */ `mutation ($t: String) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }`,
      { t: u.refreshToken },
      { headers: { origin: "https://evil.example.com" } },
    );
    expect(res.body.errors).toBeUndefined();
  });

  it("logout from the cookie ends the session and clears the cookie (Max-Age=0)", async () => {
    const u: TestUser = await signUp(t);
    const { payload, cookie } = await cookieLogin(t, u);
    const res = await t.gql<{ logout: boolean }>(LOGOUT_FROM_COOKIE, {}, withCookie(cookie.value, { origin: "http://127.0.0.1:3000" }));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ logout: true });
    const cleared = refreshCookie(res);
    expect(cleared.value).toBe("");
    expect(cleared.attributes).toMatchObject({ httponly: true, path: "/graphql", "max-age": "0" });

    expectUnauthenticated(await me(payload.accessToken));
    expectUnauthenticated(await t.gql(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value)));
    const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(payload.accessToken)));
    expect(row!.revokedReason).toBe("logout");
  });

  it("changePassword with the header puts its fresh refresh token in the cookie too", async () => {
    const u: TestUser = await signUp(t);
    const res = await t.gql<{ changePassword: Payload }>(
      CHANGE_PASSWORD,
      { input: { currentPassword: STRONG_PASSWORD, newPassword: OTHER_STRONG_PASSWORD } },
      { token: u.accessToken, headers: COOKIE_HEADERS },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.changePassword.refreshToken).toBeNull();
    const { value } = refreshCookie(res);
    const refreshed = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(value));
    expect(refreshed.body.errors).toBeUndefined();
    expect(refreshed.body.data!.refreshToken.user.id).toBe(u.id);
  });
});

describe("cookie flags per environment", () => {
  it("adds Secure in production, and answers only the listed origins there", async () => {
    const t = await startTestServer({
      env: {
        NODE_ENV: "production",
        JWT_SECRET: randomBytes(48).toString("base64url"),
        MAIL_TRANSPORT: "log",
        RATE_LIMITS: "on",
        CORS_ORIGINS: "https://app.example.com",
      },
    });
    try {
      const u = { email: uniqueEmail(), password: STRONG_PASSWORD };
      await t.gql(/* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { id } }`, { input: { ...u, fullName: "Prod" } });
      const { cookie } = await cookieLogin(t, u);
      expect(cookie.attributes).toMatchObject({ secure: true, httponly: true, samesite: "Lax", path: "/graphql" });

      // Production allows exactly CORS_ORIGINS: a local frontend is a foreign origin there.
      const local = await t.gql(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value, { origin: "http://localhost:5173" }));
      expect(onlyError(local).extensions.code).toBe("FORBIDDEN");
      const app = await t.gql<{ refreshToken: Payload }>(REFRESH_FROM_COOKIE, {}, withCookie(cookie.value, { origin: "https://app.example.com" }));
      expect(app.body.errors).toBeUndefined();
      expect(refreshCookie(app).attributes["secure"]).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("takes COOKIE_DOMAIN and COOKIE_SAMESITE, and adds Secure over HTTPS behind a trusted proxy", async () => {
    const t = await startTestServer({ env: { COOKIE_DOMAIN: "example.com", COOKIE_SAMESITE: "strict", TRUST_PROXY: "true" } });
    try {
      const u: TestUser = await signUp(t);
      const plain = (await cookieLogin(t, u)).cookie;
      expect(plain.attributes).toMatchObject({ domain: "example.com", samesite: "Strict", httponly: true, path: "/graphql" });
      expect(plain.attributes["secure"]).toBeUndefined();

      const res = await t.gql(LOGIN, { input: { email: u.email, password: u.password } }, { headers: { ...COOKIE_HEADERS, "x-forwarded-proto": "https" } });
      expect(refreshCookie(res).attributes["secure"]).toBe(true);
      // The cleared cookie carries the same domain and path, or the browser would keep the real one.
      const out = await t.gql(LOGOUT_FROM_COOKIE, {}, withCookie(plain.value));
      expect(refreshCookie(out).attributes).toMatchObject({ domain: "example.com", path: "/graphql", "max-age": "0" });
    } finally {
      await t.close();
    }
  });

  it("forces Secure with COOKIE_SAMESITE=none, even over plain http in development", async () => {
    const t = await startTestServer({ env: { COOKIE_SAMESITE: "none" } });
    try {
      const u: TestUser = await signUp(t);
      expect((await cookieLogin(t, u)).cookie.attributes).toMatchObject({ samesite: "None", secure: true });
    } finally {
      await t.close();
    }
  });
});
