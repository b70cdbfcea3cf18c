import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "puppeteer-core";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

/*
 * The cookie transport in a real browser (API.md §6): Chromium, driven by puppeteer-core, loads a page
 * from one origin (http://localhost:<page port>) that talks to the API on another
 * (http://localhost:<api port>): same site, so the SameSite=Lax cookie flows, but cross-origin, so CORS
 * and credentials are exercised for real. The page keeps its access token in a variable only; the
 * refresh token never reaches its JavaScript. Skipped (with a message) where Chromium is not installed;
 * .ci/run installs it.
 */

const CHROMIUM = "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser-cookie.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

/** The frontend: a few functions on window that call the API the way a browser app would. */
const page = (api: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Gatehouse cookie demo</title></head>
<body><p>cookie transport demo</p>
<script>
  const API = ${JSON.stringify(`${api}/graphql`)};
  let accessToken = null; // memory only: a reload forgets it, the httpOnly cookie survives
  async function gql(query, variables) {
    const res = await fetch(API, {
      method: "POST",
      credentials: "include",
      headers: {
        "content-type": "application/json",
        "x-auth-transport": "cookie",
        ...(accessToken ? { authorization: "Bearer " + accessToken } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return res.json();
  }
  window.gh = {
    hasAccessToken: () => accessToken !== null,
    cookieVisibleToScript: () => document.cookie.includes("gh_refresh"),
    async register(email, password) {
      const r = await gql("mutation ($i: RegisterInput!) { register(input: $i) { id } }", { i: { email, password, fullName: "Browser" } });
      return r.data ? r.data.register.id : r.errors[0].extensions.code;
    },
    async login(email, password) {
      const r = await gql("mutation ($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }", { i: { email, password } });
      if (!r.data) return { error: r.errors[0].extensions.code };
      accessToken = r.data.login.accessToken;
      return { refreshToken: r.data.login.refreshToken };
    },
    async refresh() {
      const r = await gql("mutation { refreshToken { accessToken refreshToken } }");
      if (!r.data) return { error: r.errors[0].extensions.code };
      const changed = r.data.refreshToken.accessToken !== accessToken;
      accessToken = r.data.refreshToken.accessToken;
      return { refreshToken: r.data.refreshToken.refreshToken, newAccessToken: changed };
    },
    async me() {
      const r = await gql("{ me { email } }");
      return r.data ? r.data.me.email : r.errors[0].extensions.code;
    },
    async logout() {
      const r = await gql("mutation { logout }");
      accessToken = null;
      return r.data ? r.data.logout : r.errors[0].extensions.code;
    },
  };
</script></body></html>`;

describe.skipIf(!present)(`cookie transport in Chromium (${CHROMIUM})`, () => {
  let api: TestServer;
  let pageServer: Server;
  let pageUrl: string;
  let apiUrl: string;
  let browser: Browser;
  let userDataDir: string;

  beforeAll(async () => {
    api = await startTestServer();
    apiUrl = api.url.replace("127.0.0.1", "localhost");
    pageServer = createServer((req, res) => {
      if (req.url === "/favicon.ico") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page(apiUrl));
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageUrl = `http://localhost:${(pageServer.address() as AddressInfo).port}/app`;
    userDataDir = mkdtempSync(join(tmpdir(), "gatehouse-chromium-"));
    const puppeteer = (await import("puppeteer-core")).default;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
    await api?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("logs in with the cookie, survives a reload by refreshing from the cookie alone, and logs out for good", async () => {
    const transcript: string[] = [];
    const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
      const result = await run();
      transcript.push(`${what} -> ${JSON.stringify(result)}`);
      return result;
    };
    const tab: Page = await browser.newPage();
    type PageApi = Record<string, (...a: unknown[]) => Promise<unknown>>;
    const call = <T>(fn: string, ...args: unknown[]) =>
      tab.evaluate((name, params) => (globalThis as unknown as { gh: PageApi }).gh[name]!(...params), fn, args) as Promise<T>;
    const email = uniqueEmail("browser");

    try {
      await step(`open ${pageUrl} (API at ${apiUrl})`, async () => (await tab.goto(pageUrl))?.status());
      expect(await step("register", () => call<string>("register", email, STRONG_PASSWORD))).toMatch(/^[0-9a-f-]{36}$/);
      const login = await step("login with X-Auth-Transport: cookie", () => call<{ refreshToken: unknown }>("login", email, STRONG_PASSWORD));
      expect(login).toEqual({ refreshToken: null });

      const cookies = await step("cookie jar for the API (read through DevTools, not the page)", async () =>
        (await browser.cookies())
          .filter((c) => c.name === "gh_refresh")
          .map((c) => ({ name: c.name, domain: c.domain, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite })),
      );
      expect(cookies).toEqual([{ name: "gh_refresh", domain: "localhost", path: "/graphql", httpOnly: true, sameSite: "Lax" }]);
      expect(await step("document.cookie shows gh_refresh", () => call<boolean>("cookieVisibleToScript"))).toBe(false);

      await step("reload the page", async () => (await tab.reload())?.status());
      expect(await step("access token in memory after reload", () => call<boolean>("hasAccessToken"))).toBe(false);
      const refreshed = await step("refreshToken with no argument (cookie only)", () =>
        call<{ refreshToken: unknown; newAccessToken: boolean }>("refresh"),
      );
      expect(refreshed).toEqual({ refreshToken: null, newAccessToken: true });
      expect(await step("me with the new access token", () => call<string>("me"))).toBe(email);

      expect(await step("logout with no argument (cookie only)", () => call<boolean | string>("logout"))).toBe(true);
      const left = await step("gh_refresh cookies left in the jar", async () => (await browser.cookies()).filter((c) => c.name === "gh_refresh").length);
      expect(left).toBe(0);
      expect(await step("refreshToken after logout", () => call<{ error?: string }>("refresh"))).toEqual({ error: "UNAUTHENTICATED" });
    } finally {
      console.log(`browser transcript (Chromium ${await browser.version()}):\n  ${transcript.join("\n  ")}`);
      await tab.close();
    }
  }, 60_000);
});
