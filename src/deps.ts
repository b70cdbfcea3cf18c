import type { CryptoKey } from "jose";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Counter, Histogram, Registry } from "prom-client";
import type { Config } from "./config.js";
import type { Database, Db } from "./db/client.js";
import type { LimitName } from "./limits.js";

/*
 * What every service takes: Deps and RequestMeta, and the interfaces of Deps' members. The features
 * implement them (auth/password.ts the Hasher, auth/tokens.ts the TokenService, email/outbox.ts the
 * OutboxWorker, observability/metrics.ts the Metrics, rate-limit/ the RateLimiter); server/ wires them.
 * Declared here, so the kernel depends on no feature.
 */

/** Everything a request handler may use. Services take `Pick<Deps, …>` of just what they need. */
export interface Deps {
  readonly config: Config;
  readonly database: Database;
  readonly db: Db;
  readonly hasher: Hasher;
  readonly tokens: TokenService;
  /** The ES256 signing keys every instance shares (empty under HS256), re-read on changes. */
  readonly keys: SigningKeySet;
  readonly logger: Logger;
  /** The email delivery worker: services call notify() after committing an email. */
  readonly outbox: OutboxWorker;
  readonly rateLimiter: RateLimiter;
  readonly metrics: Metrics;
  /** Set when REDIS_URL is: the shared store of the rate limits. */
  readonly redis: Redis | undefined;
  /** The social-login providers that are configured (API.md §8). */
  readonly oauth: OAuthProviders;
  /**
   * Milliseconds since the epoch, for the TOTP window and the signing keys' schedule (Date.now; tests
   * step it to reach step boundaries or a rotation). Access tokens' iat/exp stay on the real clock.
   * Expiries stay on the database's now(), which every instance shares.
   */
  readonly now: () => number;
}

/** Who is asking, as far as the transport can tell. */
export interface RequestMeta {
  readonly requestId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface Hasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * A hash of nothing in particular, made with the same parameters: login verifies against it when
   * the email is unknown so that both failures cost the same time.
   */
  dummyHash(): Promise<string>;
}

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** What an access token says beside its subject and session, for other services (API.md §9). */
export interface AccessTokenInput extends AccessClaims {
  role: "USER" | "ADMIN";
  emailVerified: boolean;
}

export interface TokenService {
  /** Signs a short-lived access token (ES256 with the current key, or HS256); `expiresIn` is in seconds. */
  signAccessToken(claims: AccessTokenInput): Promise<{ token: string; expiresIn: number }>;
  /**
   * Verifies signature, algorithm, issuer, audience and expiry; throws UNAUTHENTICATED otherwise, with
   * reason TOKEN_EXPIRED only for a token whose signature and claims verified but whose exp has passed
   * (INVALID_TOKEN for anything else).
   */
  verifyAccessToken(token: string): Promise<AccessClaims>;
}

/** The public members a JWKS may show (API.md §9): nothing else of a key ever leaves the database. */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: "sig";
}

/** The ES256 key set as this instance last read it; time-dependent answers use deps.now. */
export interface SigningKeySet {
  /** The key that signs now (undefined under HS256, or before the first load). */
  signer(): { kid: string; key: CryptoKey } | undefined;
  /** The public key of `kid` when it is published and not revoked now; undefined otherwise. */
  verifier(kid: string): CryptoKey | undefined;
  /** The keys published now: next, current, and retired ones whose tokens may not have expired. */
  jwks(): { keys: PublicJwk[] };
  /**
   * Under ES256: HS256 tokens signed with JWT_SECRET are still accepted (one access-token TTL after the
   * first ES256 key was made: the switch). Always false without JWT_SECRET.
   */
  acceptsHs256(): boolean;
  /** Re-reads the set from the database. */
  reload(): Promise<void>;
  /** After a rotation or revocation: re-reads here and tells the other instances (Redis pub/sub). */
  changed(): Promise<void>;
  /** The periodic re-read and automatic rotation, and the Redis subscription. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OutboxWorker {
  start(): void;
  /** Stops after the send in progress, if any. */
  stop(): Promise<void>;
  /** Look now: an email was just committed. */
  notify(): void;
  /** One pass over the due rows (tests drive the worker with it); resolves with how many were handled. */
  runOnce(): Promise<number>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<"operation" | "outcome">;
  readonly errors: Counter<"code">;
  readonly logins: Counter<"result">;
  readonly rateLimited: Counter<"limit">;
}

export interface RateLimiter {
  readonly enabled: boolean;
  /**
   * Counts one call of `name` for `key`; throws RATE_LIMITED once over the limit. On success returns
   * `release`, which gives the hit back (the call was refused by another limit of the same field).
   * `exempt`, asked only when the limit refuses, lets the call through uncounted (and unreported).
   */
  check(name: LimitName, key: string, options?: { exempt?: () => Promise<boolean> }): Promise<{ release(): Promise<void> }>;
  /** "memory", "redis", or "degraded" (Redis configured but not answering; counting in memory). */
  status(): "memory" | "redis" | "degraded";
}

/** What a provider tells about the person who signed in, once their answer has been verified. */
export interface ExternalProfile {
  /** With `subject`, the identity (never the email). */
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  /** True only when the provider says so explicitly (email_verified, or GitHub's verified primary). */
  readonly emailVerified: boolean;
  readonly name: string | null;
}

/** The per-flow secrets of an authorization-code flow. */
export interface FlowChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface AuthorizationParams {
  readonly state: string;
  readonly nonce: string;
  /** BASE64URL(SHA-256(code verifier)). */
  readonly codeChallenge: string;
}

export interface OAuthProvider {
  readonly name: string;
  /** The authorization URL to send the browser to (PKCE S256, state and nonce). */
  authorizationUrl(params: AuthorizationParams): string;
  /**
   * Exchanges the code of the callback and verifies everything (state, RFC 9207 iss, the ID token's
   * signature, iss, aud, nonce and expiry). Throws on any failure; provider tokens stay inside.
   */
  complete(callbackUrl: URL, checks: FlowChecks): Promise<ExternalProfile>;
}

export interface OAuthProviders {
  /** The names of the providers that work now (discovered); kicks off a retry of the others when due. */
  available(): string[];
  /** The provider, discovering it first if that failed before and its backoff has passed; null when unknown or down. */
  get(name: string): Promise<OAuthProvider | null>;
}
