import * as client from "openid-client";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { AuthorizationParams, ExternalProfile, FlowChecks, OAuthProvider, OAuthProviders } from "../../deps.js";
import type { OidcProviderConfig } from "../../env-schema.js";
import { createGithubProvider } from "./github.js";

/*
 * The configured providers. OpenID Connect ones are discovered from their issuer at start-up; one that
 * does not answer is logged and left out of `available()` (the server still serves), and discovery is
 * tried again on its next use once a backoff has passed (5 s, doubling up to 5 minutes).
 */

const DISCOVERY_TIMEOUT_SECONDS = 5;
const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;
/** openid-client's per-request timeout (token endpoint, userinfo, JWKS). */
const REQUEST_TIMEOUT_SECONDS = 10;

export const OIDC_SCOPE = "openid email profile";

/** Builds the OpenID Connect provider of a discovered Configuration. */
function oidcProvider(name: string, configuration: client.Configuration, redirectUri: string): OAuthProvider {
  return {
    name,
    authorizationUrl: (checks: AuthorizationParams) =>
      client
        .buildAuthorizationUrl(configuration, {
          redirect_uri: redirectUri,
          scope: OIDC_SCOPE,
          response_type: "code",
          code_challenge: checks.codeChallenge,
          code_challenge_method: "S256",
          state: checks.state,
          nonce: checks.nonce,
        })
        .toString(),
    async complete(callbackUrl: URL, checks: FlowChecks): Promise<ExternalProfile> {
      // openid-client checks state, RFC 9207 iss (required when the metadata says it is sent), the code
      // exchange with the PKCE verifier, and the ID token: signature, iss, aud, azp, nonce, exp, iat.
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      let email = typeof claims.email === "string" ? claims.email : null;
      let verified = claims.email_verified === true;
      let fullName = typeof claims.name === "string" ? claims.name : null;
      // Many providers (oidc-provider by default) put the email claims in userinfo only. fetchUserInfo
      // refuses a userinfo whose sub differs from the ID token's.
      if (email === null && configuration.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
        email = typeof info.email === "string" ? info.email : null;
        verified = info.email_verified === true;
        fullName ??= typeof info.name === "string" ? info.name : null;
      }
      return { issuer: configuration.serverMetadata().issuer, subject: claims.sub, email, emailVerified: email !== null && verified, name: fullName };
    },
  };
}

async function discover(p: OidcProviderConfig): Promise<client.Configuration> {
  const configuration = await client.discovery(
    new URL(p.issuer),
    p.clientId,
    p.clientSecret,
    // No secret: a public client, PKCE alone protects the code.
    p.clientSecret === undefined ? client.None() : undefined,
    {
      timeout: DISCOVERY_TIMEOUT_SECONDS,
      // Only ever true for http://localhost outside production (env-schema.ts's checkProviderUrl).
      ...(p.allowInsecure ? { execute: [client.allowInsecureRequests] } : {}),
    },
  );
  return configuration;
}

interface Slot {
  readonly name: string;
  provider: OAuthProvider | null;
  failures: number;
  retryAt: number;
  pending: Promise<void> | null;
}

/**
 * Discovers every configured provider (in parallel, each bounded by a timeout) and returns the registry.
 * Never throws for an unreachable provider: it logs one line naming it and its issuer.
 */
export async function createOAuthProviders(
  config: Pick<Config, "oauth">,
  logger: Logger,
  now: () => number = Date.now,
): Promise<OAuthProviders> {
  const { redirectUri } = config.oauth;
  const slots = new Map<string, Slot>();
  const byName = new Map(config.oauth.oidc.map((p) => [p.name, p]));

  const attempt = (slot: Slot): Promise<void> => {
    const p = byName.get(slot.name)!;
    slot.pending ??= discover(p)
      .then((configuration) => {
        configuration.timeout = REQUEST_TIMEOUT_SECONDS;
        slot.provider = oidcProvider(slot.name, configuration, redirectUri);
        if (slot.failures > 0) logger.info({ provider: slot.name, issuer: p.issuer }, "oauth provider discovered after earlier failures");
        slot.failures = 0;
      })
      .catch((err: unknown) => {
        slot.failures += 1;
        const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** (slot.failures - 1), MAX_BACKOFF_MS);
        slot.retryAt = now() + backoff;
        logger.warn(
          { provider: slot.name, issuer: p.issuer, err: { name: (err as Error).name, message: (err as Error).message }, retryInMs: backoff },
          "oauth provider unavailable: OpenID discovery failed; it is left out of oauthProviders until a later retry succeeds",
        );
      })
      .finally(() => {
        slot.pending = null;
      });
    return slot.pending;
  };

  for (const p of config.oauth.oidc) slots.set(p.name, { name: p.name, provider: null, failures: 0, retryAt: 0, pending: null });
  await Promise.all([...slots.values()].map(attempt));
  if (config.oauth.github) {
    slots.set("github", { name: "github", provider: createGithubProvider(config.oauth.github, redirectUri), failures: 0, retryAt: 0, pending: null });
  }

  const due = (slot: Slot) => slot.provider === null && slot.pending === null && now() >= slot.retryAt;
  return {
    available() {
      for (const slot of slots.values()) if (due(slot)) void attempt(slot);
      return [...slots.values()].filter((s) => s.provider !== null).map((s) => s.name);
    },
    async get(name) {
      const slot = slots.get(name);
      if (!slot) return null;
      if (due(slot)) await attempt(slot);
      else if (slot.pending) await slot.pending;
      return slot.provider;
    },
  };
}
