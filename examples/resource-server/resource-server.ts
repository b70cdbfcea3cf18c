/**
 * Another service of the team verifying Gatehouse access tokens on its own: the keys come from
 * Gatehouse's JWKS (fetched once, cached, re-fetched for a kid it does not know), the rules are
 * issuer, audience, algorithm and RFC 9068's typ, and authorization reads the token's `role` claim.
 * No shared secret, no call back to Gatehouse per request.
 */
import { createServer, type Server } from "node:http";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

export interface ResourceServerOptions {
  /** Gatehouse's public URL, e.g. http://localhost:4000 */
  gatehouseUrl: string;
  issuer?: string;
  audience?: string;
}

/** Routes: GET /user (any signed-in USER or ADMIN) and GET /admin (ADMIN only). */
export function createResourceServer({ gatehouseUrl, issuer = "gatehouse", audience = "gatehouse" }: ResourceServerOptions): Server {
  const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", gatehouseUrl));

  async function caller(authorization: string | undefined): Promise<JWTPayload | null> {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience, algorithms: ["ES256"], typ: "at+jwt" });
      return payload;
    } catch {
      return null;
    }
  }

  const needs: Record<string, string[]> = { "/user": ["USER", "ADMIN"], "/admin": ["ADMIN"] };
  return createServer((req, res) => {
    const allowed = needs[req.url ?? ""];
    const answer = (status: number, body: object) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (!allowed) return answer(404, { error: "not found" });
    void caller(req.headers.authorization).then((claims) => {
      if (!claims) return answer(401, { error: "a valid Gatehouse access token is required" });
      // Role as of the token's issue (at most ACCESS_TOKEN_TTL old); Gatehouse itself re-reads it per request.
      if (!allowed.includes(String(claims["role"]))) return answer(403, { error: `needs role ${allowed.join(" or ")}` });
      return answer(200, { hello: claims.sub, role: claims["role"] });
    });
  });
}
