import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import Provider from "oidc-provider";

/*
 * A real OpenID provider (oidc-provider) on 127.0.0.1 for the social-login tests, with its development
 * login and consent pages, which `authorize` drives with fetch and a cookie jar as a browser would.
 * Accounts are whatever the test puts in `accounts`; `misbehave` makes it answer wrongly on purpose.
 */

export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, IdpAccount>;
  /**
   * "nonce": the ID token carries another nonce than the one asked for; "audience" / "issuer": the
   * token endpoint returns an ID token, validly signed with the provider's key, for another client / from
   * another issuer.
   */
  misbehave: "none" | "nonce" | "audience" | "issuer";
  /** The env that points a Gatehouse at it as provider `name`. */
  env(name?: string): Record<string, string>;
  /** Signs `accountId` in at the authorization URL and returns the URL it redirects the browser to (the callback). */
  authorize(authorizationUrl: string, accountId: string): Promise<string>;
  close(): Promise<void>;
}

export const TEST_REDIRECT_URI = "http://localhost:3000/oauth/callback";

interface Options {
  redirectUri?: string;
  clientId?: string;
  /** Listen on this port (the manual run's script), default a free one. */
  port?: number;
  /** Any login name is an account, <login>@example.com with a verified email (npm run dev:idp). */
  anyLogin?: boolean;
}

/** Starts the provider; `redirectUri` must be the Gatehouse's OAUTH_REDIRECT_URI. */
export async function startTestIdp(options: Options = {}): Promise<TestIdp> {
  const redirectUri = options.redirectUri ?? TEST_REDIRECT_URI;
  const clientId = options.clientId ?? "gatehouse";
  const clientSecret = "gatehouse-test-client-secret";
  const route: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server: Server = createServer((req, res) => route.handler!(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, IdpAccount>();
  // Our own signing key (not oidc-provider's built-in one), so the misbehaving modes can re-sign tokens.
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: "test-idp-key", alg: "RS256", use: "sig" };

  const provider = new Provider(issuer, {
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ["authorization_code"], response_types: ["code"] },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    cookies: { keys: ["test-idp-cookie-key-not-secret"] },
    jwks: { keys: [jwk] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub) ?? (options.anyLogin ? { email: `${sub}@example.com`, email_verified: true, name: sub } : undefined);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  const idp: TestIdp = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    misbehave: "none",
    env: (name = "local") => ({
      OIDC_PROVIDERS: name,
      [`OIDC_${name.toUpperCase()}_ISSUER`]: issuer,
      [`OIDC_${name.toUpperCase()}_CLIENT_ID`]: clientId,
      [`OIDC_${name.toUpperCase()}_CLIENT_SECRET`]: clientSecret,
      OAUTH_REDIRECT_URI: redirectUri,
    }),
    authorize: (url, accountId) => driveAuthorization(url, accountId, redirectUri),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  // Runs before oidc-provider's routes: the misbehaving modes rewrite the authorization request.
  provider.use(async (ctx, next) => {
    if (idp.misbehave === "nonce" && ctx.path === "/auth" && ctx.query["nonce"]) {
      const query = new URLSearchParams(ctx.querystring);
      query.set("nonce", "a-nonce-nobody-asked-for");
      ctx.querystring = query.toString();
    }
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if ((idp.misbehave === "audience" || idp.misbehave === "issuer") && ctx.path === "/token" && body?.id_token) {
      const claims = decodeJwt(body.id_token);
      const changed = idp.misbehave === "audience" ? { aud: "someone-else" } : { iss: "http://127.0.0.1:1/another-issuer" };
      const idToken = await new SignJWT({ ...claims, ...changed }).setProtectedHeader({ alg: "RS256", kid: jwk.kid }).sign(privateKey);
      ctx.body = { ...body, id_token: idToken };
    }
  });
  route.handler = provider.callback();
  return idp;
}

/** Follows redirects by hand with a cookie jar; posts the login form, then the consent form. */
async function driveAuthorization(authorizationUrl: string, accountId: string, redirectUri: string): Promise<string> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1));
    }
  };
  let url = authorizationUrl;
  let body: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(redirectUri)) return url;
    const res = await fetch(url, {
      method: body ? "POST" : "GET",
      redirect: "manual",
      headers: { cookie: cookieHeader(), ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      ...(body ? { body: body.toString() } : {}),
    });
    remember(res);
    body = undefined;
    const location = res.headers.get("location");
    if (location) {
      url = new URL(location, url).toString();
      continue;
    }
    const html = await res.text();
    const form = /<form[^>]*action="([^"]+)"/.exec(html);
    if (res.status !== 200 || !form) throw new Error(`IdP answered ${res.status} without a form: ${html.slice(0, 300)}`);
    body = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) body.set(m[1]!, m[2]!);
    if (/name="login"/.test(html)) {
      body.set("login", accountId);
      body.set("password", "any");
    }
    url = new URL(form[1]!, url).toString();
  }
  throw new Error("too many hops at the IdP");
}
