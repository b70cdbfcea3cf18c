import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * CORS for /graphql (API.md §6): outside production with CORS_ORIGINS unset, any local frontend
 * (http://localhost:<port>, http://127.0.0.1:<port>); otherwise exactly CORS_ORIGINS. Allowed origins
 * may send credentials (the gh_refresh cookie) and the X-Auth-Transport header.
 */

const preflight = (t: TestServer, origin: string) =>
  fetch(`${t.url}/graphql`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-auth-transport" },
  });

function expectAllowed(res: Response, origin: string): void {
  expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  expect(res.headers.get("access-control-allow-headers")).toMatch(/(^|,)\s*X-Auth-Transport\s*(,|$)/i);
  expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
}

function expectRefused(res: Response): void {
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
  expect(res.headers.get("access-control-allow-credentials")).toBeNull();
}

describe("CORS in development with CORS_ORIGINS unset", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("allows any http://localhost:<port> and http://127.0.0.1:<port>, with credentials", async () => {
    for (const origin of ["http://localhost:5173", "http://localhost:3000", "http://127.0.0.1:8080", "http://localhost"]) {
      expectAllowed(await preflight(t, origin), origin);
    }
  });

  it("refuses every other origin, look-alikes included", async () => {
    for (const origin of [
      "https://evil.example.com",
      "http://localhost.evil.example.com",
      "http://localhost:5173.evil.example.com",
      "http://evil-localhost:5173",
      "http://127.0.0.2:5173",
      "null",
    ]) {
      expectRefused(await preflight(t, origin));
    }
  });

  it("answers an actual POST from a local frontend with the credentials header", async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { origin: "http://localhost:5173", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("vary")).toMatch(/Origin/i);
  });
});

describe("CORS with CORS_ORIGINS set", () => {
  it("allows exactly the list in production: no localhost default", async () => {
    const t = await startTestServer({
      env: {
        NODE_ENV: "production",
        JWT_SECRET: randomBytes(48).toString("base64url"),
        MAIL_TRANSPORT: "log",
        RATE_LIMITS: "on",
        CORS_ORIGINS: "https://app.example.com,https://admin.example.com",
      },
    });
    try {
      expectAllowed(await preflight(t, "https://app.example.com"), "https://app.example.com");
      expectAllowed(await preflight(t, "https://admin.example.com"), "https://admin.example.com");
      for (const origin of ["http://localhost:5173", "http://127.0.0.1:8080", "http://app.example.com", "https://app.example.com:8443"]) {
        expectRefused(await preflight(t, origin));
      }
    } finally {
      await t.close();
    }
  });

  it("allows no origin at all in production when the list is empty", async () => {
    const t = await startTestServer({
      env: { NODE_ENV: "production", JWT_SECRET: randomBytes(48).toString("base64url"), MAIL_TRANSPORT: "log", RATE_LIMITS: "on" },
    });
    try {
      expectRefused(await preflight(t, "http://localhost:5173"));
    } finally {
      await t.close();
    }
  });

  it("replaces the localhost default in development too", async () => {
    const t = await startTestServer({ env: { CORS_ORIGINS: "http://localhost:5173" } });
    try {
      expectAllowed(await preflight(t, "http://localhost:5173"), "http://localhost:5173");
      expectRefused(await preflight(t, "http://localhost:3000"));
    } finally {
      await t.close();
    }
  });
});
