import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { and, asc, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import type { Config } from "../../config.js";
import type { PublicJwk } from "../../deps.js";
import { rowsOf, type Queryable } from "../../db/client.js";
import { signingKeys, type SigningKeyRow } from "../../db/schema.js";
import { open, seal, sealingKeyFor } from "../../lib/sealed.js";

/* The signing_keys table: reading the live set, making a key, sealing and opening its private half. */

export const SIGNING_ALG = "ES256";


/** The sealing key of private signing keys: HKDF from ENCRYPTION_SECRET under a label of its own. */
const signingSealKey = sealingKeyFor("gatehouse signing keys v1");

// The kid is bound as associated data: a sealed private key copied into another row does not open.
const aad = (kid: string) => `signing_keys:${kid}`;

/** Opens a row's private key (PKCS#8 PEM); throws SealedValueError under another ENCRYPTION_SECRET. */
export const openPrivateKey = (config: Pick<Config, "encryptionSecret">, row: Pick<SigningKeyRow, "kid" | "privateKey">): string =>
  open(signingSealKey(config), row.privateKey, aad(row.kid));

/** Only the public members, whatever else the stored JWK holds. */
export function toPublicJwk(row: Pick<SigningKeyRow, "kid" | "alg" | "publicJwk">): PublicJwk {
  const { kty, crv, x, y } = row.publicJwk;
  return { kty: kty!, crv: crv!, x: x!, y: y!, kid: row.kid, alg: row.alg, use: "sig" };
}

/**
 * Generates a P-256 key pair and inserts it: published from `createdAt`, signing from `signsFrom`.
 * The kid is the RFC 7638 thumbprint of the public key.
 */
export async function insertSigningKey(
  tx: Queryable,
  config: Pick<Config, "encryptionSecret">,
  createdAt: Date,
  signsFrom: Date,
): Promise<SigningKeyRow> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk = { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  const sealed = seal(signingSealKey(config), await exportPKCS8(privateKey), aad(kid));
  const [row] = await tx
    .insert(signingKeys)
    .values({ kid, alg: SIGNING_ALG, publicJwk, privateKey: sealed, createdAt, signsFrom })
    .returning();
  return row!;
}

/** Keys not revoked and still published at `now` (the JWKS, and every key a token may name). */
export function findLiveKeys(db: Queryable, now: Date): Promise<SigningKeyRow[]> {
  return db
    .select()
    .from(signingKeys)
    .where(and(isNull(signingKeys.revokedAt), or(isNull(signingKeys.publishedUntil), gt(signingKeys.publishedUntil, now))))
    .orderBy(asc(signingKeys.signsFrom));
}

/** Every key, oldest first (the CLI's list-keys). */
export function listSigningKeys(db: Queryable): Promise<SigningKeyRow[]> {
  return db.select().from(signingKeys).orderBy(asc(signingKeys.createdAt));
}

/** When the first ES256 key was made: the moment this deployment switched from HS256 (null: never). */
export async function findFirstKeyAt(db: Queryable): Promise<Date | null> {
  const [row] = await db.select({ at: sql<string | null>`min(${signingKeys.createdAt})` }).from(signingKeys);
  return row?.at ? new Date(row.at) : null;
}

/** Non-revoked keys that have not been retired: the current one and any next one. */
export function findUnretiredKeys(db: Queryable): Promise<SigningKeyRow[]> {
  return db
    .select()
    .from(signingKeys)
    .where(and(isNull(signingKeys.revokedAt), isNull(signingKeys.retiredAt)))
    .orderBy(asc(signingKeys.signsFrom));
}

/** Retires every unretired key at `at`; each stays published until `publishedUntil`. */
export async function retireKeys(tx: Queryable, at: Date, publishedUntil: Date): Promise<void> {
  await tx
    .update(signingKeys)
    .set({ retiredAt: at, publishedUntil })
    .where(and(isNull(signingKeys.revokedAt), isNull(signingKeys.retiredAt)));
}

/** Marks a key revoked; null when there is no such unrevoked key. */
export async function markRevoked(tx: Queryable, kid: string, now: Date): Promise<SigningKeyRow | null> {
  const [row] = await tx
    .update(signingKeys)
    .set({ revokedAt: now })
    .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.revokedAt)))
    .returning();
  return row ?? null;
}

/** The key that signs at `now` among non-revoked ones, or null. */
export async function findSignerAt(tx: Queryable, now: Date): Promise<SigningKeyRow | null> {
  const [row] = await tx
    .select()
    .from(signingKeys)
    .where(
      and(
        isNull(signingKeys.revokedAt),
        lte(signingKeys.signsFrom, now),
        or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, now)),
      ),
    )
    .orderBy(sql`${signingKeys.signsFrom} desc`)
    .limit(1);
  return row ?? null;
}

/** Moves a key's start of signing (a revocation's emergency promotion of the next key). */
export async function setSignsFrom(tx: Queryable, kid: string, at: Date): Promise<void> {
  await tx.update(signingKeys).set({ signsFrom: at }).where(eq(signingKeys.kid, kid));
}

/** Takes the transaction-scoped lock of key changes; `wait: false` answers false when another holds it. */
export async function lockKeyChanges(tx: Queryable, wait: boolean): Promise<boolean> {
  if (wait) {
    await tx.execute(sql`select pg_advisory_xact_lock(${KEY_CHANGE_LOCK})`);
    return true;
  }
  const [row] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${KEY_CHANGE_LOCK}) as locked`));
  return row?.locked === true;
}

/** Any constant, the same on every instance (distinct from the migration and admin locks). */
const KEY_CHANGE_LOCK = 7_260_431_216;
