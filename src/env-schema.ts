import ms from "ms";
import { z } from "zod";

/*
 * Every environment variable Gatehouse reads and how each one parses (API.md §1); loadConfig in
 * config.ts applies it once and adds the rules that span variables (production, mail, bootstrap).
 */

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

const duration = (fallback: string, { allowZero = false } = {}) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .default(fallback)
      .transform((v, ctx) => {
        // ms() returns undefined for anything it cannot read ("15 minutes" works, "soon" does not).
        const millis = ms(v as ms.StringValue) as number | undefined;
        if (typeof millis !== "number" || !Number.isFinite(millis) || (millis < 1000 && !(allowZero && millis === 0))) {
          const least = allowZero ? "0 (off) or at least 1s" : "at least 1s";
          ctx.addIssue({ code: "custom", message: `must be a duration of ${least} such as 15m, 12h or 30d (got "${v}")` });
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

export const envSchema = z.object({
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
  JWT_ALGORITHM: z.preprocess(
    (v) => (typeof blankToUndefined(v) === "string" ? String(v).trim().toUpperCase() : undefined),
    z.enum(["ES256", "HS256"], { message: "must be ES256 or HS256" }).default("ES256"),
  ),
  // How often a new ES256 key is made; at least an hour, so publish-before-sign (10 min) always fits.
  JWT_KEY_ROTATION: duration("30d").refine((s) => s >= 3600, "must be at least 1h"),
  // The API's public base URL, for the jwks_uri of the discovery document; unset: the request's own origin.
  PUBLIC_URL: url(["http:", "https:"]),
  JWT_ISSUER: z.preprocess(blankToUndefined, z.string().default("gatehouse")),
  JWT_AUDIENCE: z.preprocess(blankToUndefined, z.string().default("gatehouse")),
  ACCESS_TOKEN_TTL: duration("15m"),
  REFRESH_TOKEN_TTL: duration("30d"),
  // How long a used refresh token still gets a fresh pair (two tabs refreshing at once); 0 turns it off.
  REFRESH_REUSE_INTERVAL: duration("10s", { allowZero: true }),
  COOKIE_DOMAIN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/, "must be a domain like example.com")
      .optional(),
  ),
  COOKIE_SAMESITE: z.preprocess(
    (v) => (typeof blankToUndefined(v) === "string" ? String(v).trim().toLowerCase() : undefined),
    z.enum(["lax", "strict", "none"], { message: "must be lax, strict or none" }).default("lax"),
  ),
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
  REQUIRE_ADMIN_MFA: bool(false),
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
  HASH_THREADS: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ message: "must be a whole number from 1 to 256" })
      .int("must be a whole number from 1 to 256")
      .min(1, "must be a whole number from 1 to 256")
      .max(256, "must be a whole number from 1 to 256")
      .optional(),
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
  // Social login (API.md §8). Each name in OIDC_PROVIDERS reads OIDC_<NAME>_ISSUER, _CLIENT_ID and
  // _CLIENT_SECRET (parseOAuthEnv below: their names depend on the list, so they are not keys here).
  OIDC_PROVIDERS: optionalString,
  GITHUB_CLIENT_ID: optionalString,
  GITHUB_CLIENT_SECRET: optionalString,
  GITHUB_BASE_URL: url(["http:", "https:"]),
  GITHUB_API_URL: url(["http:", "https:"]),
  OAUTH_REDIRECT_URI: url(["http:", "https:"]),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  ),
});

/** One OpenID Connect provider of OIDC_PROVIDERS. */
export interface OidcProviderConfig {
  /** Lower case, as the API names it (oauthProviders, startOAuthLogin's provider). */
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  /** Unset: a public client (PKCE only, no client authentication). */
  readonly clientSecret: string | undefined;
  /** An http:// issuer on localhost outside production (openid-client refuses http unless told). */
  readonly allowInsecure: boolean;
}

export interface GithubProviderConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where /login/oauth/authorize and /login/oauth/access_token live; also the identities' issuer. */
  readonly baseUrl: string;
  /** Where /user and /user/emails live. */
  readonly apiUrl: string;
  readonly allowInsecure: boolean;
}

export interface OAuthConfig {
  readonly redirectUri: string;
  readonly oidc: readonly OidcProviderConfig[];
  readonly github: GithubProviderConfig | undefined;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** https, or (outside production) http on localhost: a local identity provider for development and tests. */
function checkProviderUrl(variable: string, value: string, isProduction: boolean, problems: string[]): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    problems.push(`${variable}: must be a URL (got "${value}")`);
    return false;
  }
  if (u.protocol === "https:") return false;
  if (u.protocol === "http:" && !isProduction && LOCAL_HOSTS.has(u.hostname)) return true;
  problems.push(
    `${variable}: must be an https:// URL${isProduction ? " in production" : " (http:// only on localhost or 127.0.0.1 outside production)"} (got "${value}")`,
  );
  return false;
}

/**
 * The social-login providers: OIDC_PROVIDERS and each one's OIDC_<NAME>_* variables, and GitHub when
 * GITHUB_CLIENT_ID is set. Problems name the variable.
 */
export function parseOAuthEnv(
  env: NodeJS.ProcessEnv,
  v: Pick<
    z.infer<typeof envSchema>,
    "OIDC_PROVIDERS" | "GITHUB_CLIENT_ID" | "GITHUB_CLIENT_SECRET" | "GITHUB_BASE_URL" | "GITHUB_API_URL" | "OAUTH_REDIRECT_URI" | "APP_BASE_URL"
  >,
  isProduction: boolean,
): { value: OAuthConfig; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string) => blankToUndefined(env[name]) as string | undefined;
  const oidc: OidcProviderConfig[] = [];
  const names = (v.OIDC_PROVIDERS ?? "").split(",").map((n) => n.trim().toLowerCase()).filter(Boolean);
  for (const name of names) {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(name)) {
      problems.push(`OIDC_PROVIDERS: "${name}" must be letters and digits, starting with a letter`);
      continue;
    }
    if (name === "github") {
      problems.push('OIDC_PROVIDERS: "github" is the GitHub provider (GITHUB_CLIENT_ID); give the OIDC provider another name');
      continue;
    }
    if (oidc.some((p) => p.name === name)) {
      problems.push(`OIDC_PROVIDERS: "${name}" is listed twice`);
      continue;
    }
    const prefix = `OIDC_${name.toUpperCase()}_`;
    const issuer = read(`${prefix}ISSUER`)?.trim();
    const clientId = read(`${prefix}CLIENT_ID`)?.trim();
    if (!issuer) problems.push(`${prefix}ISSUER is required for the provider "${name}" listed in OIDC_PROVIDERS`);
    if (!clientId) problems.push(`${prefix}CLIENT_ID is required for the provider "${name}" listed in OIDC_PROVIDERS`);
    if (!issuer || !clientId) continue;
    const allowInsecure = checkProviderUrl(`${prefix}ISSUER`, issuer, isProduction, problems);
    oidc.push({ name, issuer, clientId, clientSecret: read(`${prefix}CLIENT_SECRET`), allowInsecure });
  }

  let github: GithubProviderConfig | undefined;
  if (v.GITHUB_CLIENT_ID || v.GITHUB_CLIENT_SECRET) {
    if (!v.GITHUB_CLIENT_ID || !v.GITHUB_CLIENT_SECRET) problems.push("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET must be set together");
    const baseUrl = (v.GITHUB_BASE_URL ?? "https://github.com").replace(/\/+$/, "");
    const apiUrl = (v.GITHUB_API_URL ?? (v.GITHUB_BASE_URL ? `${baseUrl}/api/v3` : "https://api.github.com")).replace(/\/+$/, "");
    const insecureBase = checkProviderUrl("GITHUB_BASE_URL", baseUrl, isProduction, problems);
    const insecureApi = checkProviderUrl("GITHUB_API_URL", apiUrl, isProduction, problems);
    if (v.GITHUB_CLIENT_ID && v.GITHUB_CLIENT_SECRET) {
      github = { clientId: v.GITHUB_CLIENT_ID, clientSecret: v.GITHUB_CLIENT_SECRET, baseUrl, apiUrl, allowInsecure: insecureBase || insecureApi };
    }
  }

  const redirectUri = v.OAUTH_REDIRECT_URI ?? `${v.APP_BASE_URL}/oauth/callback`;
  if (isProduction && (oidc.length > 0 || github) && !redirectUri.startsWith("https://")) {
    problems.push(`OAUTH_REDIRECT_URI: must be an https:// URL in production (got "${redirectUri}"; the default is APP_BASE_URL/oauth/callback)`);
  }
  return { value: { redirectUri, oidc, github }, problems };
}
