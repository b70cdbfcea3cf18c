import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import ms from "ms";
import { z } from "zod";
import { estimateEntropyBits, MIN_PRODUCTION_SECRET_BITS } from "./lib/entropy.js";
import { deriveSecret } from "./lib/sealed.js";
import { DEFAULT_LIMITS, LIMIT_NAMES, limitEnvName, type Limit, type LimitName } from "./limits.js";

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
    readonly secret: string;
    readonly issuer: string;
    readonly audience: string;
    /** Seconds. */
    readonly accessTtl: number;
    /** Seconds. */
    readonly refreshTtl: number;
  };
  /**
   * Root of the keys that encrypt data at rest (lib/sealed.ts derives one key per purpose from it):
   * ENCRYPTION_SECRET, else derived from JWT_SECRET under a label of its own.
   */
  readonly encryptionSecret: string;
  readonly appBaseUrl: string;
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
  /** Every limit, defaults merged with RATE_LIMIT_<NAME>=max/window overrides. */
  readonly limits: Readonly<Record<LimitName, Limit>>;
  readonly introspection: boolean;
  readonly corsOrigins: readonly string[];
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
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

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optionalString = z.preprocess(blankToUndefined, z.string().trim().optional());

const bool = (defaultValue?: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { message: "must be true or false" })
      .optional()
      .transform((v) => (v === undefined ? defaultValue : ["true", "1", "yes", "on"].includes(v))),
  );

const duration = (fallback: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .default(fallback)
      .transform((v, ctx) => {
        // ms() returns undefined for anything it cannot read ("15 minutes" works, "soon" does not).
        const millis = ms(v as ms.StringValue) as number | undefined;
        if (typeof millis !== "number" || !Number.isFinite(millis) || millis < 1000) {
          ctx.addIssue({ code: "custom", message: `must be a duration of at least 1s such as 15m, 12h or 30d (got "${v}")` });
          return z.NEVER;
        }
        return Math.floor(millis / 1000);
      }),
  );

const url = (protocols: string[]) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`)
      .optional(),
  );

const PORT_MESSAGE = "must be a port number from 0 to 65535";

const schema = z.object({
  NODE_ENV: z.preprocess(blankToUndefined, z.enum(["development", "production", "test"]).default("development")),
  PORT: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ message: PORT_MESSAGE })
      .int(PORT_MESSAGE)
      .min(0, PORT_MESSAGE)
      .max(65535, PORT_MESSAGE)
      .default(4000),
  ),
  HOST: optionalString,
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  DATA_DIR: z.preprocess(blankToUndefined, z.string().default("./.data")),
  REDIS_URL: url(["redis:", "rediss:"]),
  REDIS_PREFIX: z.preprocess(blankToUndefined, z.string().max(100).default("gatehouse:")),
  JWT_SECRET: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => Buffer.byteLength(v, "utf8") >= 32, "must be at least 32 bytes long")
      .optional(),
  ),
  ENCRYPTION_SECRET: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => Buffer.byteLength(v, "utf8") >= 32, "must be at least 32 bytes long")
      .optional(),
  ),
  JWT_ISSUER: z.preprocess(blankToUndefined, z.string().default("gatehouse")),
  JWT_AUDIENCE: z.preprocess(blankToUndefined, z.string().default("gatehouse")),
  ACCESS_TOKEN_TTL: duration("15m"),
  REFRESH_TOKEN_TTL: duration("30d"),
  APP_BASE_URL: z.preprocess(
    blankToUndefined,
    url(["http:", "https:"]).transform((v) => (v ?? "http://localhost:3000").replace(/\/+$/, "")),
  ),
  APP_NAME: z.preprocess(blankToUndefined, z.string().max(100).default("Gatehouse")),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: url(["http:", "https:"]),
  EMAIL_FROM: optionalString,
  SMTP_URL: url(["smtp:", "smtps:"]),
  MAIL_TRANSPORT: z.preprocess(blankToUndefined, z.enum(["resend", "smtp", "log"]).optional()),
  BOOTSTRAP_ADMIN_EMAIL: optionalString,
  BOOTSTRAP_ADMIN_PASSWORD: z.preprocess(blankToUndefined, z.string().optional()),
  BOOTSTRAP_ADMIN_NAME: optionalString,
  TRUST_PROXY: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx): boolean | string[] => {
        if (v === undefined || ["false", "0", "no", "off"].includes(v)) return false;
        if (["true", "1", "yes", "on"].includes(v)) return true;
        const list = v.split(",").map((s) => s.trim()).filter(Boolean);
        if (list.some((s) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(s))) {
          ctx.addIssue({ code: "custom", message: "must be true, false, or a comma-separated list of proxy addresses / CIDRs" });
          return z.NEVER;
        }
        return list;
      }),
  ),
  RATE_LIMITS: z.preprocess(blankToUndefined, z.enum(["on", "off"], { message: "must be on or off" }).default("on")),
  INTROSPECTION: bool(),
  CORS_ORIGINS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const list = (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        for (const origin of list) {
          let ok: boolean;
          try {
            const u = new URL(origin);
            ok = (u.protocol === "http:" || u.protocol === "https:") && u.origin === origin;
          } catch {
            ok = false;
          }
          if (!ok) {
            ctx.addIssue({ code: "custom", message: `"${origin}" is not an origin like https://app.example.com` });
            return z.NEVER;
          }
        }
        return list;
      }),
  ),
  METRICS_PORT: z.preprocess(
    blankToUndefined,
    z.coerce.number({ message: PORT_MESSAGE }).int(PORT_MESSAGE).min(0, PORT_MESSAGE).max(65535, PORT_MESSAGE).optional(),
  ),
  METRICS_HOST: z.preprocess(blankToUndefined, z.string().trim().default("127.0.0.1")),
  METRICS_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => Buffer.byteLength(v, "utf8") >= 32, "must be at least 32 bytes long")
      .refine((v) => /^[\x21-\x7e]+$/.test(v), "must be printable ASCII without spaces (it travels in a header)")
      .optional(),
  ),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  ),
});

export interface LoadConfigOptions {
  /** Generate and keep a development JWT secret in DATA_DIR when none is set (the server and CLI do; tests pass one). */
  persistDevSecret?: boolean;
}

/**
 * Parses and validates the environment once. Throws ConfigError naming every bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`));
  }
  const v = parsed.data;
  const limits = parseLimits(env);
  if (!limits.ok) throw new ConfigError(limits.problems);
  const isProduction = v.NODE_ENV === "production";
  const problems: string[] = [];

  if (isProduction && !v.JWT_SECRET) problems.push("JWT_SECRET is required in production (at least 32 random bytes)");
  if (isProduction && v.JWT_SECRET && estimateEntropyBits(v.JWT_SECRET) < MIN_PRODUCTION_SECRET_BITS) {
    problems.push(
      `JWT_SECRET: must carry at least ${MIN_PRODUCTION_SECRET_BITS} bits of entropy in production ` +
        "(a repeated or patterned value is refused); generate one with: openssl rand -base64 32",
    );
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
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = resolve(v.DATA_DIR);
  const secret = v.JWT_SECRET ?? (options.persistDevSecret ? readOrCreateDevSecret(dataDir) : randomBytes(32).toString("base64url"));

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
      secret,
      issuer: v.JWT_ISSUER,
      audience: v.JWT_AUDIENCE,
      accessTtl: v.ACCESS_TOKEN_TTL,
      refreshTtl: v.REFRESH_TOKEN_TTL,
    },
    // Optional for now: without it, changing JWT_SECRET also makes queued email bodies unreadable.
    encryptionSecret: v.ENCRYPTION_SECRET ?? deriveSecret(secret, "gatehouse encryption secret from JWT_SECRET v1"),
    appBaseUrl: v.APP_BASE_URL,
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
    limits: limits.value,
    introspection: v.INTROSPECTION ?? !isProduction,
    corsOrigins: v.CORS_ORIGINS,
    logLevel: v.LOG_LEVEL ?? (v.NODE_ENV === "test" ? "silent" : "info"),
    metrics: { port: v.METRICS_PORT, host: v.METRICS_HOST, token: v.METRICS_TOKEN },
  };
  return deepFreeze(config);
}

/** RATE_LIMIT_LOGIN=10/15m and friends: "max/window", window as 30s, 15m, 1h, 1d. */
function parseLimits(env: NodeJS.ProcessEnv): { ok: true; value: Record<LimitName, Limit> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const value = {} as Record<LimitName, Limit>;
  for (const name of LIMIT_NAMES) {
    const variable = limitEnvName(name);
    const raw = env[variable]?.trim();
    const { max, window } = raw ? { max: Number(raw.split("/")[0]), window: raw.split("/")[1] ?? "" } : DEFAULT_LIMITS[name];
    const windowMs = /^\d+(s|m|h|d)$/.test(window) ? (ms(window as ms.StringValue) as number) : NaN;
    if (!Number.isInteger(max) || max < 1 || !Number.isFinite(windowMs) || windowMs < 1000) {
      problems.push(`${variable}: must be max/window with max >= 1 and a window such as 30s, 15m, 1h or 1d (got "${raw}")`);
      continue;
    }
    value[name] = { max, window, windowMs };
  }
  return problems.length ? { ok: false, problems } : { ok: true, value };
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
