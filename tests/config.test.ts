import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

// Production refuses low-entropy secrets (API.md §5): a fixed random value, as `openssl rand -base64 32` prints.
const SECRET = "q3V9xL2mR7pT0wZ8kB4nF6hJ1sD5gY9cA2eU7iO3rW0=";
const ENC = "Zr5Tq8Wm2Xv7Ln4Kp9Hs1Dj6Fb3Gc0Ye8Ua5Io2Pw7=";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("config", () => {
  it("has the documented defaults in development", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: "development",
      isProduction: false,
      port: 4000,
      host: "127.0.0.1",
      databaseUrl: undefined,
      redisUrl: undefined,
      appBaseUrl: "http://localhost:3000",
      trustProxy: false,
      rateLimits: true,
      introspection: true,
      corsOrigins: [],
      mail: { transport: "log" },
      jwt: { issuer: "gatehouse", audience: "gatehouse", accessTtl: 900, refreshTtl: 30 * 24 * 3600 },
      refreshReuseInterval: 10,
      cookie: { domain: undefined, sameSite: "lax" },
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.jwt)).toBe(true);
  });

  it("names the variable in every error", () => {
    const problems = problemsOf({
      PORT: "eighty",
      DATABASE_URL: "mysql://x",
      JWT_SECRET: "short",
      ACCESS_TOKEN_TTL: "soon",
      APP_BASE_URL: "ftp://x",
      CORS_ORIGINS: "https://ok.example.com,not an origin",
      RATE_LIMITS: "maybe",
      INTROSPECTION: "perhaps",
      TRUST_PROXY: "everyone!",
      NODE_ENV: "staging",
    });
    for (const name of [
      "PORT",
      "DATABASE_URL",
      "JWT_SECRET",
      "ACCESS_TOKEN_TTL",
      "APP_BASE_URL",
      "CORS_ORIGINS",
      "RATE_LIMITS",
      "INTROSPECTION",
      "TRUST_PROXY",
      "NODE_ENV",
    ]) {
      expect(problems.some((p) => p.startsWith(name)), `${name} in ${problems.join(" | ")}`).toBe(true);
    }
  });

  it("applies the production rules with one-line reasons", () => {
    expect(problemsOf({ NODE_ENV: "production", MAIL_TRANSPORT: "log", ENCRYPTION_SECRET: ENC, JWT_ALGORITHM: "HS256" })).toEqual([
      "JWT_SECRET is required in production with JWT_ALGORITHM=HS256 (at least 32 random bytes)",
    ]);
    // ES256 (the default) signs with the database's keys: JWT_SECRET is then optional.
    expect(problemsOf({ NODE_ENV: "production", MAIL_TRANSPORT: "log", ENCRYPTION_SECRET: ENC })).toEqual([]);
    expect(problemsOf({ JWT_ALGORITHM: "RS256", JWT_KEY_ROTATION: "5m", PUBLIC_URL: "ftp://x" }).map((p) => p.split(":")[0])).toEqual([
      "JWT_ALGORITHM",
      "JWT_KEY_ROTATION",
      "PUBLIC_URL",
    ]);
    expect(problemsOf({ NODE_ENV: "production", JWT_SECRET: SECRET, ENCRYPTION_SECRET: ENC }).join()).toMatch(
      /RESEND_API_KEY and EMAIL_FROM, or MAIL_TRANSPORT=log/,
    );
    expect(problemsOf({ NODE_ENV: "production", JWT_SECRET: SECRET, ENCRYPTION_SECRET: ENC, MAIL_TRANSPORT: "log", RATE_LIMITS: "off" })).toEqual([
      "RATE_LIMITS=off is refused in production",
    ]);
    const prod = loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET, ENCRYPTION_SECRET: ENC, RESEND_API_KEY: "re_x", EMAIL_FROM: "a@b.co" });
    expect(prod).toMatchObject({ host: "0.0.0.0", introspection: false, mail: { transport: "resend" } });
    const withIntrospection = { NODE_ENV: "production", JWT_SECRET: SECRET, ENCRYPTION_SECRET: ENC, MAIL_TRANSPORT: "log", INTROSPECTION: "true" };
    expect(loadConfig(withIntrospection).introspection).toBe(true);
  });

  it("parses durations, lists and proxies", () => {
    const c = loadConfig({ ACCESS_TOKEN_TTL: "5m", REFRESH_TOKEN_TTL: "7d", CORS_ORIGINS: "https://a.example.com, http://localhost:5173", TRUST_PROXY: "true" });
    expect(c.jwt.accessTtl).toBe(300);
    expect(c.jwt.refreshTtl).toBe(7 * 86400);
    expect(c.corsOrigins).toEqual(["https://a.example.com", "http://localhost:5173"]);
    expect(c.trustProxy).toBe(true);
    expect(loadConfig({ REFRESH_REUSE_INTERVAL: "0" }).refreshReuseInterval).toBe(0);
    expect(loadConfig({ REFRESH_REUSE_INTERVAL: "1m" }).refreshReuseInterval).toBe(60);
    expect(problemsOf({ REFRESH_REUSE_INTERVAL: "500ms" }).join()).toMatch(/^REFRESH_REUSE_INTERVAL: must be a duration of 0 \(off\) or at least 1s/);
    expect(loadConfig({ COOKIE_DOMAIN: "example.com", COOKIE_SAMESITE: "Strict" }).cookie).toEqual({ domain: "example.com", sameSite: "strict" });
    expect(problemsOf({ COOKIE_SAMESITE: "sometimes", COOKIE_DOMAIN: "https://example.com" }).map((p) => p.split(":")[0]).sort()).toEqual([
      "COOKIE_DOMAIN",
      "COOKIE_SAMESITE",
    ]);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8,loopback" }).trustProxy).toEqual(["10.0.0.0/8", "loopback"]);
    expect(problemsOf({ BOOTSTRAP_ADMIN_EMAIL: "a@b.co" })).toEqual(["BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together"]);
  });

  it("takes HASH_THREADS as a whole number from 1 to 256, unset by default", () => {
    expect(loadConfig({}).hashThreads).toBeUndefined();
    expect(loadConfig({ HASH_THREADS: "12" }).hashThreads).toBe(12);
    for (const bad of ["0", "2.5", "many", "257"]) {
      expect(problemsOf({ HASH_THREADS: bad })).toEqual(["HASH_THREADS: must be a whole number from 1 to 256"]);
    }
  });

  it("generates the development JWT secret once, mode 0600, and keeps it across restarts", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-config-"));
    const first = loadConfig({ DATA_DIR: dir }, { persistDevSecret: true });
    const second = loadConfig({ DATA_DIR: dir }, { persistDevSecret: true });
    expect(first.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    expect(readFileSync(join(dir, "jwt-secret"), "utf8").trim()).toBe(first.jwt.secret);
    expect(statSync(join(dir, "jwt-secret")).mode & 0o777).toBe(0o600);
    // An explicit secret wins and nothing is generated for it.
    expect(loadConfig({ DATA_DIR: dir, JWT_SECRET: SECRET }, { persistDevSecret: true }).jwt.secret).toBe(SECRET);
  });
});

describe("ENCRYPTION_SECRET", () => {
  it("is used as it is when set, and refused under 32 bytes with its name", () => {
    const secret = "e".repeat(32);
    expect(loadConfig({ JWT_SECRET: SECRET, ENCRYPTION_SECRET: secret }).encryptionSecret).toBe(secret);
    expect(problemsOf({ ENCRYPTION_SECRET: "short" })).toEqual(["ENCRYPTION_SECRET: must be at least 32 bytes long"]);
  });

  it("is required in production, with entropy, and apart from JWT_SECRET (TOTP secrets are sealed under it)", () => {
    const prod = { NODE_ENV: "production", JWT_SECRET: SECRET, MAIL_TRANSPORT: "log" };
    expect(problemsOf(prod)).toEqual([
      "ENCRYPTION_SECRET is required in production (at least 32 random bytes, kept apart from JWT_SECRET): it seals TOTP secrets and queued emails",
    ]);
    expect(problemsOf({ ...prod, ENCRYPTION_SECRET: "e".repeat(32) })[0]).toMatch(/^ENCRYPTION_SECRET: must carry at least 128 bits of entropy/);
    expect(problemsOf({ ...prod, ENCRYPTION_SECRET: SECRET })).toEqual(["ENCRYPTION_SECRET must differ from JWT_SECRET"]);
    expect(loadConfig({ ...prod, ENCRYPTION_SECRET: ENC }).encryptionSecret).toBe(ENC);
  });

  it("when unset outside production, is derived from JWT_SECRET: stable for one JWT_SECRET, never equal to it, different for another", () => {
    const derived = loadConfig({ JWT_SECRET: SECRET }).encryptionSecret;
    expect(loadConfig({ JWT_SECRET: SECRET }).encryptionSecret).toBe(derived);
    expect(derived).not.toBe(SECRET);
    expect(Buffer.byteLength(derived)).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ JWT_SECRET: "y".repeat(32) }).encryptionSecret).not.toBe(derived);
  });
});
