import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * A small stand-in for GitHub's OAuth endpoints (authorize, access_token) and REST API (/user,
 * /user/emails) on 127.0.0.1, checking what GitHub checks: client secret, code, redirect_uri, PKCE S256.
 */

export interface GithubUser {
  id: number;
  login: string;
  name: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

export interface GithubStub {
  baseUrl: string;
  users: Map<number, GithubUser>;
  env(): Record<string, string>;
  /** The browser at the authorize URL, signed in as `userId`: returns the callback URL GitHub redirects to. */
  authorize(authorizationUrl: string, userId: number): Promise<string>;
  close(): Promise<void>;
}

const CLIENT_ID = "gh-test-client";
const CLIENT_SECRET = "gh-test-secret";

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startGithubStub(redirectUri = "http://localhost:3000/oauth/callback"): Promise<GithubStub> {
  const users = new Map<number, GithubUser>();
  const codes = new Map<string, { userId: number; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://stub");
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === "/login/oauth/authorize") {
        const userId = Number(req.headers["x-test-user"]);
        const ok = url.searchParams.get("client_id") === CLIENT_ID && url.searchParams.get("code_challenge_method") === "S256";
        if (!ok || !users.has(userId)) return json(400, { error: "bad authorize request" });
        const code = randomBytes(10).toString("hex");
        codes.set(code, { userId, challenge: url.searchParams.get("code_challenge")!, redirectUri: url.searchParams.get("redirect_uri")! });
        const back = new URL(url.searchParams.get("redirect_uri")!);
        back.searchParams.set("code", code);
        back.searchParams.set("state", url.searchParams.get("state")!);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (url.pathname === "/login/oauth/access_token" && req.method === "POST") {
        const form = new URLSearchParams(await readBody(req));
        const grant = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        const pkceOk = grant && createHash("sha256").update(verifier).digest("base64url") === grant.challenge;
        if (form.get("client_id") !== CLIENT_ID || form.get("client_secret") !== CLIENT_SECRET) return json(200, { error: "incorrect_client_credentials" });
        // GitHub answers errors with 200 and an error member.
        if (!grant || !pkceOk || form.get("redirect_uri") !== grant.redirectUri) return json(200, { error: "bad_verification_code" });
        const token = `gho_${randomBytes(16).toString("hex")}`;
        tokens.set(token, grant.userId);
        return json(200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
      }
      const userId = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      const user = userId === undefined ? undefined : users.get(userId);
      if (url.pathname.startsWith("/api/user") && !user) return json(401, { message: "Bad credentials" });
      if (url.pathname === "/api/user") return json(200, { id: user!.id, login: user!.login, name: user!.name });
      if (url.pathname === "/api/user/emails") return json(200, user!.emails.map((e) => ({ ...e, visibility: null })));
      json(404, { message: "Not Found" });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    users,
    env: () => ({
      GITHUB_CLIENT_ID: CLIENT_ID,
      GITHUB_CLIENT_SECRET: CLIENT_SECRET,
      GITHUB_BASE_URL: baseUrl,
      GITHUB_API_URL: `${baseUrl}/api`,
      OAUTH_REDIRECT_URI: redirectUri,
    }),
    async authorize(authorizationUrl, userId) {
      const res = await fetch(authorizationUrl, { redirect: "manual", headers: { "x-test-user": String(userId) } });
      const location = res.headers.get("location");
      if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
      return location;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
