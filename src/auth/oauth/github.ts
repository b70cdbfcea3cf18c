import * as client from "openid-client";
import type { AuthorizationParams, ExternalProfile, FlowChecks, OAuthProvider } from "../../deps.js";
import type { GithubProviderConfig } from "../../env-schema.js";

/*
 * GitHub is plain OAuth 2 (no ID token, no discovery): openid-client still does the parts that are easy
 * to get wrong (state, the code exchange with the PKCE verifier GitHub supports, RFC 9207 iss if ever
 * sent) from static metadata; the profile comes from GET /user and /user/emails.
 */

const SCOPE = "read:user user:email";
const REQUEST_TIMEOUT_MS = 10_000;

interface GithubUser {
  id?: unknown;
  name?: unknown;
  login?: unknown;
}

interface GithubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

async function githubGet<T>(apiUrl: string, path: string, accessToken: string): Promise<T> {
  const res = await fetch(`${apiUrl}${path}`, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      "user-agent": "gatehouse",
    },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  // The status only: a body could echo the token back.
  if (!res.ok) throw new Error(`GitHub ${path} answered ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The one address that counts: the primary one, and only if GitHub marks it verified. A verified
 * secondary address is not the account's address, and an unverified primary proves nothing.
 */
export function primaryVerifiedEmail(emails: unknown): string | null {
  if (!Array.isArray(emails)) return null;
  const primary = (emails as GithubEmail[]).find((e) => e && e.primary === true);
  return primary && primary.verified === true && typeof primary.email === "string" ? primary.email : null;
}

/** The GitHub (or GitHub Enterprise) provider; its identities' issuer is GITHUB_BASE_URL. */
export function createGithubProvider(p: GithubProviderConfig, redirectUri: string): OAuthProvider {
  const configuration = new client.Configuration(
    {
      issuer: p.baseUrl,
      authorization_endpoint: `${p.baseUrl}/login/oauth/authorize`,
      token_endpoint: `${p.baseUrl}/login/oauth/access_token`,
    },
    p.clientId,
    undefined,
    client.ClientSecretPost(p.clientSecret),
  );
  if (p.allowInsecure) client.allowInsecureRequests(configuration);
  configuration.timeout = REQUEST_TIMEOUT_MS / 1000;

  return {
    name: "github",
    authorizationUrl: (params: AuthorizationParams) =>
      client
        .buildAuthorizationUrl(configuration, {
          redirect_uri: redirectUri,
          scope: SCOPE,
          code_challenge: params.codeChallenge,
          code_challenge_method: "S256",
          state: params.state,
          // Prompts account choice when several are signed in; harmless otherwise.
          prompt: "select_account",
        })
        .toString(),
    async complete(callbackUrl: URL, checks: FlowChecks): Promise<ExternalProfile> {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
      });
      const user = await githubGet<GithubUser>(p.apiUrl, "/user", tokens.access_token);
      if (typeof user.id !== "number" && typeof user.id !== "string") throw new Error("GitHub /user has no id");
      const email = primaryVerifiedEmail(await githubGet<unknown>(p.apiUrl, "/user/emails", tokens.access_token));
      const name = typeof user.name === "string" && user.name.trim() ? user.name : typeof user.login === "string" ? user.login : null;
      return { issuer: p.baseUrl, subject: String(user.id), email, emailVerified: email !== null, name };
    },
  };
}
