import { randomUUID } from "node:crypto";
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { LRUCache } from "lru-cache";
import type { Config } from "../config.js";
import { AppError, ErrorCode, unauthenticated } from "../errors.js";
import type { AccessClaims, SigningKeySet, TokenService } from "../deps.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tokens whose signature and claims were verified, by their exact text (a client sends one token many times). */
const VERIFIED_TOKENS = 10_000;

/** RFC 9068's type of a JWT access token: a verifier that checks it cannot take another JWT of ours for one. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/**
 * Headers that would let a token choose its own key (RFC 7515 §4.1): the key always comes from our
 * own set by `kid`, and a token that carries one of these is refused rather than half-trusted.
 */
const KEY_CARRYING_HEADERS = ["jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"];

interface Verified {
  claims: AccessClaims;
  expiresAtMs: number;
  /** The ES256 key that signed it; null: HS256 (JWT_SECRET). */
  kid: string | null;
}

/**
 * ES256 (JWT_ALGORITHM's default) signs with the key set's current key and verifies by `kid` against
 * the set; HS256 signs and verifies with JWT_SECRET as before. The HMAC key is imported once as a
 * CryptoKey (jose would otherwise import raw bytes on every call).
 */
export async function createTokenService(jwt: Config["jwt"], keys: SigningKeySet): Promise<TokenService> {
  const hmac = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(jwt.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const es256 = jwt.algorithm === "ES256";
  const verified = new LRUCache<string, Verified>({ max: VERIFIED_TOKENS });

  /** A cached verification stands only while its key does: a revoked or unpublished key ends it at once. */
  const keyStillValid = (kid: string | null) => (kid === null ? !es256 || keys.acceptsHs256() : keys.verifier(kid) !== undefined);

  async function verify(token: string): Promise<{ payload: JWTPayload; kid: string | null }> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthenticated("INVALID_TOKEN"); // not three base64url parts with a JSON header
    }
    if (KEY_CARRYING_HEADERS.some((name) => name in header)) throw unauthenticated("INVALID_TOKEN");
    const common = { issuer: jwt.issuer, audience: jwt.audience, requiredClaims: ["sub", "sid", "exp", "jti"] };
    if (es256 && header.alg === "ES256") {
      const key = typeof header.kid === "string" ? keys.verifier(header.kid) : undefined;
      // Only a key of our own set, looked up by kid: an unknown, revoked or unpublished kid is no key at all.
      if (!key) throw unauthenticated("INVALID_TOKEN");
      const { payload } = await jwtVerify(token, key, { ...common, algorithms: ["ES256"], typ: ACCESS_TOKEN_TYP });
      return { payload, kid: header.kid! };
    }
    // HS256 only with JWT_SECRET, never with a public key as the HMAC secret; under ES256 only for
    // one access-token TTL after the switch (tokens issued before it run out).
    if (header.alg !== "HS256" || !keyStillValid(null)) throw unauthenticated("INVALID_TOKEN");
    const { payload } = await jwtVerify(token, hmac, { ...common, algorithms: ["HS256"] });
    return { payload, kid: null };
  }

  return {
    async signAccessToken({ userId, sessionId, role, emailVerified }) {
      const claims = { sid: sessionId, role, email_verified: emailVerified };
      const signer = es256 ? keys.signer() : undefined;
      // An operator's error (ENCRYPTION_SECRET unlike the other instances'): logged at load, and /readyz
      // answers 503 so a load balancer sends logins elsewhere. The client gets a retryable code, not a 500.
      if (es256 && !signer) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "This instance cannot issue tokens right now; retry later");
      const builder = new SignJWT(claims)
        .setProtectedHeader(signer ? { alg: "ES256", kid: signer.kid, typ: ACCESS_TOKEN_TYP } : { alg: "HS256", typ: "JWT" })
        .setSubject(userId)
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setIssuedAt()
        .setExpirationTime(`${jwt.accessTtl}s`)
        .setJti(randomUUID());
      return { token: await builder.sign(signer ? signer.key : hmac), expiresIn: jwt.accessTtl };
    },
    async verifyAccessToken(token) {
      // The same bytes under the same key verify the same way, so only expiry and the key's standing
      // are looked at again. Signature verification was ~10% of the server's CPU for `me`. Revocation,
      // role and status are not taken from the token: they are read from the database on every request.
      const known = verified.get(token);
      if (known && Date.now() < known.expiresAtMs && keyStillValid(known.kid)) return known.claims;
      try {
        // algorithms pinned per key: "alg: none" and ES/HS confusion are refused before the signature is read.
        const { payload, kid } = await verify(token);
        const userId = payload.sub;
        const sessionId = payload["sid"];
        if (typeof userId !== "string" || typeof sessionId !== "string" || !UUID_RE.test(userId) || !UUID_RE.test(sessionId)) {
          throw unauthenticated("INVALID_TOKEN");
        }
        const claims = { userId, sessionId };
        // jose required exp: past it the token goes through jose again, which says "expired".
        verified.set(token, { claims, expiresAtMs: payload.exp! * 1000, kid });
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
