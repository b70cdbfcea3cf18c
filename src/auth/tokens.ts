import { randomUUID } from "node:crypto";
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import type { Config } from "../config.js";
import { unauthenticated } from "../errors.js";
import type { AccessClaims, TokenService } from "../deps.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tokens whose signature and claims were verified, by their exact text (a client sends one token many times). */
const VERIFIED_TOKENS = 10_000;

/** Imports the key once as a CryptoKey (jose would otherwise import raw bytes on every call). */
export async function createTokenService(jwt: Config["jwt"]): Promise<TokenService> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(jwt.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const verified = new LRUCache<string, { claims: AccessClaims; expiresAtMs: number }>({ max: VERIFIED_TOKENS });
  return {
    async signAccessToken({ userId, sessionId }) {
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(userId)
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setIssuedAt()
        .setExpirationTime(`${jwt.accessTtl}s`)
        .setJti(randomUUID())
        .sign(key);
      return { token, expiresIn: jwt.accessTtl };
    },
    async verifyAccessToken(token) {
      // The same bytes under the same key verify the same way, so only expiry is looked at again.
      // WebCrypto's HMAC verify was ~10% of the server's CPU for `me`. Revocation, role and status
      // are not in the token: they are read from the database on every request all the same.
      const known = verified.get(token);
      if (known && Date.now() < known.expiresAtMs) return known.claims;
      try {
        // algorithms pinned: "alg: none" and RS/HS confusion are refused by jose before the signature is read.
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          issuer: jwt.issuer,
          audience: jwt.audience,
          requiredClaims: ["sub", "sid", "exp", "jti"],
        });
        const userId = payload.sub;
        const sessionId = payload["sid"];
        if (typeof userId !== "string" || typeof sessionId !== "string" || !UUID_RE.test(userId) || !UUID_RE.test(sessionId)) {
          throw unauthenticated("INVALID_TOKEN");
        }
        const claims = { userId, sessionId };
        // jose required exp: past it the token goes through jose again, which says "expired".
        verified.set(token, { claims, expiresAtMs: payload.exp! * 1000 });
        return claims;
      } catch (err) {
        // jose checks the signature before the claims: JWTExpired means a token we signed, past its exp,
        // the one answer a client meets by refreshing. A forged one with an old exp is INVALID_TOKEN.
        if (err instanceof joseErrors.JWTExpired) throw unauthenticated("TOKEN_EXPIRED");
        if (err instanceof joseErrors.JOSEError) throw unauthenticated("INVALID_TOKEN");
        throw err;
      }
    },
  };
}
