import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { estimateEntropyBits, MIN_PRODUCTION_SECRET_BITS } from "./lib/entropy.js";
import { deriveSecret } from "./lib/sealed.js";
import { envSchema, parseOAuthEnv, type OAuthConfig } from "./env-schema.js";
import { parseLimitOverrides, type Limit, type LimitName } from "./limits.js";

/**
 * Every environment variable Gatehouse reads, parsed once (API.md §1).
 * No other module reads process.env: they receive this frozen object.
 */
export interface Config {
  readonly env: "development" | "production" | "test";
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key Gatehouse writes (several deployments can share one Redis). */
  readonly redisPrefix: string;
  readonly jwt: {
    /** JWT_ALGORITHM: ES256 (keys in the database, published as a JWKS) or HS256 (JWT_SECRET). */
    readonly algorithm: "ES256" | "HS256";
    /** The HS256 key (JWT_SECRET, or a development one). */
    readonly secret: string;
    /**
     * JWT_SECRET was set: under ES256 the HS256 tokens it signed before the switch are still accepted
     * until they expire (a random fallback secret signed nothing anyone holds).
     */
    readonly secretGiven: boolean;
    /** JWT_KEY_ROTATION, seconds: the age at which a new signing key is made. */
    readonly keyRotation: number;
    readonly issuer: string;
    readonly audience: string;
    /** Seconds. */
    readonly accessTtl: number;
    /** Seconds. */
    readonly refreshTtl: number;
  };
  /** Seconds after its first use during which a refresh token still gets a fresh pair (0: never). */
  readonly refreshReuseInterval: number;
  /** The gh_refresh cookie of the cookie transport (API.md §6). */
  readonly cookie: {
    /** COOKIE_DOMAIN; unset: a host-only cookie. */
    readonly domain: string | undefined;
    /** COOKIE_SAMESITE; "none" always goes with Secure. */
    readonly sameSite: "lax" | "strict" | "none";
  };
  /**
   * Root of the keys that encrypt data at rest (lib/sealed.ts derives one key per purpose from it):
   * ENCRYPTION_SECRET, else derived from JWT_SECRET under a label of its own. Seals queued email
   * bodies and TOTP secrets, each under a key of its own.
   */
  readonly encryptionSecret: string;
  readonly appBaseUrl: string;
  /** PUBLIC_URL without a trailing slash: the API's own public origin (jwks_uri); unset: the request's. */
  readonly publicUrl: string | undefined;
  /** The product name in emails. */
  readonly appName: string;
  readonly mail: {
    readonly transport: "resend" | "smtp" | "log";
    readonly resendApiKey: string | undefined;
    readonly from: string | undefined;
    /** Resend's API base; unset uses the SDK's default. */
    readonly resendBaseUrl: string | undefined;
    /** SMTP_URL: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://… (TLS from the start). Holds a password: never log it. */
    readonly smtpUrl: string | undefined;
  };
  readonly bootstrapAdmin: { readonly email: string; readonly password: string; readonly fullName: string } | undefined;
  /** `false`: ignore X-Forwarded-For; `true`: trust one proxy hop; a list: trust these addresses / CIDRs. */
  readonly trustProxy: boolean | readonly string[];
  readonly rateLimits: boolean;
  /** REQUIRE_ADMIN_MFA: an admin without TOTP is refused every admin field until enrolled (API.md §7). */
  readonly requireAdminMfa: boolean;
  /** Every limit, defaults merged with RATE_LIMIT_<NAME>=max/window overrides. */
  readonly limits: Readonly<Record<LimitName, Limit>>;
  readonly introspection: boolean;
  readonly corsOrigins: readonly string[];
  /** Social login (API.md §8): the providers, and the redirect URI registered with each. */
  readonly oauth: OAuthConfig;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** HASH_THREADS: how many password hashes run at once (one thread each); unset: see defaultHashThreads. */
  readonly hashThreads: number | undefined;
  /** Where /metrics is served (API.md §5). */
  readonly metrics: {
    /** METRICS_PORT: a separate listener for /metrics; unset: none. */
    readonly port: number | undefined;
    /** METRICS_HOST: that listener's address. */
    readonly host: string;
    /** METRICS_TOKEN: in production, /metrics on the main listener needs `Authorization: Bearer <token>`. */
    readonly token: string | undefined;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  /** Generate and keep a development JWT secret in DATA_DIR when none is set (the server and CLI do; tests pass one). */
  persistDevSecret?: boolean;
}

/**
 * Parses and validates the environment once. Throws ConfigError naming every bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`));
  }
  const v = parsed.data;
  const limits = parseLimitOverrides(env);
  if (!limits.ok) throw new ConfigError(limits.problems);
  const isProduction = v.NODE_ENV === "production";
  const problems: string[] = [];

  if (isProduction && !v.JWT_SECRET && v.JWT_ALGORITHM === "HS256") {
    problems.push("JWT_SECRET is required in production with JWT_ALGORITHM=HS256 (at least 32 random bytes)");
  }
  if (isProduction && v.JWT_SECRET && estimateEntropyBits(v.JWT_SECRET) < MIN_PRODUCTION_SECRET_BITS) {
    problems.push(
      `JWT_SECRET: must carry at least ${MIN_PRODUCTION_SECRET_BITS} bits of entropy in production ` +
        "(a repeated or patterned value is refused); generate one with: openssl rand -base64 32",
    );
  }
  // TOTP secrets and queued emails are sealed under keys derived from it. Derived from JWT_SECRET, a
  // rotation of the signing secret would make every enrolled authenticator unusable.
  if (isProduction && !v.ENCRYPTION_SECRET) {
    problems.push(
      "ENCRYPTION_SECRET is required in production (at least 32 random bytes, kept apart from JWT_SECRET): it seals TOTP secrets and queued emails",
    );
  }
  if (isProduction && v.ENCRYPTION_SECRET && estimateEntropyBits(v.ENCRYPTION_SECRET) < MIN_PRODUCTION_SECRET_BITS) {
    problems.push(
      `ENCRYPTION_SECRET: must carry at least ${MIN_PRODUCTION_SECRET_BITS} bits of entropy in production ` +
        "(a repeated or patterned value is refused); generate one with: openssl rand -base64 32",
    );
  }
  if (isProduction && v.ENCRYPTION_SECRET && v.ENCRYPTION_SECRET === v.JWT_SECRET) {
    problems.push("ENCRYPTION_SECRET must differ from JWT_SECRET");
  }
  if (v.METRICS_PORT !== undefined && v.METRICS_PORT !== 0 && v.METRICS_PORT === v.PORT) {
    problems.push("METRICS_PORT must differ from PORT (/metrics gets a listener of its own)");
  }
  const transport = v.MAIL_TRANSPORT ?? (v.RESEND_API_KEY ? "resend" : v.SMTP_URL ? "smtp" : "log");
  if (transport === "resend" && (!v.RESEND_API_KEY || !v.EMAIL_FROM)) {
    problems.push("RESEND_API_KEY and EMAIL_FROM are both required to send email through Resend");
  }
  if (transport === "smtp" && (!v.SMTP_URL || !v.EMAIL_FROM)) {
    problems.push("SMTP_URL and EMAIL_FROM are both required to send email over SMTP");
  }
  if (isProduction && !v.MAIL_TRANSPORT && !(v.RESEND_API_KEY && v.EMAIL_FROM) && !(v.SMTP_URL && v.EMAIL_FROM)) {
    problems.push("production needs SMTP_URL and EMAIL_FROM, or RESEND_API_KEY and EMAIL_FROM, or MAIL_TRANSPORT=log to log emails instead");
  }
  if (isProduction && v.RATE_LIMITS === "off") problems.push("RATE_LIMITS=off is refused in production");
  const bootstrap = [v.BOOTSTRAP_ADMIN_EMAIL, v.BOOTSTRAP_ADMIN_PASSWORD].filter((x) => x !== undefined).length;
  if (bootstrap === 1) problems.push("BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together");
  const oauth = parseOAuthEnv(env, v, isProduction);
  problems.push(...oauth.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = resolve(v.DATA_DIR);
  const secret = v.JWT_SECRET ?? (options.persistDevSecret && !isProduction ? readOrCreateDevSecret(dataDir) : randomBytes(32).toString("base64url"));

  const config: Config = {
    env: v.NODE_ENV,
    isProduction,
    port: v.PORT,
    host: v.HOST ?? (isProduction ? "0.0.0.0" : "127.0.0.1"),
    databaseUrl: v.DATABASE_URL,
    dataDir,
    redisUrl: v.REDIS_URL,
    redisPrefix: v.REDIS_PREFIX,
    jwt: {
      algorithm: v.JWT_ALGORITHM,
      secret,
      secretGiven: v.JWT_SECRET !== undefined || (options.persistDevSecret === true && !isProduction),
      keyRotation: v.JWT_KEY_ROTATION,
      issuer: v.JWT_ISSUER,
      audience: v.JWT_AUDIENCE,
      accessTtl: v.ACCESS_TOKEN_TTL,
      refreshTtl: v.REFRESH_TOKEN_TTL,
    },
    refreshReuseInterval: v.REFRESH_REUSE_INTERVAL,
    cookie: { domain: v.COOKIE_DOMAIN, sameSite: v.COOKIE_SAMESITE },
    // Optional for now: without it, changing JWT_SECRET also makes queued email bodies unreadable.
    encryptionSecret: v.ENCRYPTION_SECRET ?? deriveSecret(secret, "gatehouse encryption secret from JWT_SECRET v1"),
    appBaseUrl: v.APP_BASE_URL,
    publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ""),
    appName: v.APP_NAME,
    mail: { transport, resendApiKey: v.RESEND_API_KEY, from: v.EMAIL_FROM, resendBaseUrl: v.RESEND_BASE_URL?.replace(/\/+$/, ""), smtpUrl: v.SMTP_URL },
    bootstrapAdmin:
      v.BOOTSTRAP_ADMIN_EMAIL && v.BOOTSTRAP_ADMIN_PASSWORD
        ? {
            email: v.BOOTSTRAP_ADMIN_EMAIL,
            password: v.BOOTSTRAP_ADMIN_PASSWORD,
            fullName: v.BOOTSTRAP_ADMIN_NAME ?? "Administrator",
          }
        : undefined,
    trustProxy: v.TRUST_PROXY,
    rateLimits: v.RATE_LIMITS === "on",
    requireAdminMfa: v.REQUIRE_ADMIN_MFA ?? false,
    limits: limits.value,
    introspection: v.INTROSPECTION ?? !isProduction,
    corsOrigins: v.CORS_ORIGINS,
    oauth: oauth.value,
    logLevel: v.LOG_LEVEL ?? (v.NODE_ENV === "test" ? "silent" : "info"),
    hashThreads: v.HASH_THREADS,
    metrics: { port: v.METRICS_PORT, host: v.METRICS_HOST, token: v.METRICS_TOKEN },
  };
  return deepFreeze(config);
}

/** Development only: one secret per DATA_DIR, mode 0600, so tokens survive a restart. */
function readOrCreateDevSecret(dataDir: string): string {
  const file = resolve(dataDir, "jwt-secret");
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (Buffer.byteLength(existing) >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString("base64url");
  try {
    // "wx": when two processes start at once, the second keeps the first one's secret.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw err;
  }
  chmodSync(file, 0o600);
  return secret;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
