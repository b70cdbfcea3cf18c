import type { Deps } from "../../deps.js";
import type { SigningKeyRow } from "../../db/schema.js";
import {
  findSignerAt,
  findUnretiredKeys,
  insertSigningKey,
  lockKeyChanges,
  markRevoked,
  retireKeys,
  setSignsFrom,
} from "./signing-keys.repo.js";

/** How long verifiers may cache the JWKS (its Cache-Control max-age), in seconds. */
export const JWKS_MAX_AGE = 300;
/**
 * How long before it signs a new key is published (API.md §9: at least max-age + 5 minutes): by then
 * every verifier that honours the cache header has fetched a JWKS holding it.
 */
export const PUBLISH_LEAD_SECONDS = JWKS_MAX_AGE + 300;

type KeyDeps = Pick<Deps, "db" | "config" | "now">;

export interface Rotation {
  readonly kid: string;
  readonly signsFrom: Date;
}

/**
 * Makes a new signing key, published now and signing PUBLISH_LEAD_SECONDS from now; the keys signing
 * until then are retired at that moment and stay published for one access-token TTL after it.
 * `force: false` (the automatic schedule) rotates only when the newest key is JWT_KEY_ROTATION old,
 * checked again under the lock, so instances that all find it due make one key. Answers null when it
 * did not rotate: not due, or another instance holds the lock (it is rotating right now).
 */
export async function rotateKeys(deps: KeyDeps, { force }: { force: boolean }): Promise<Rotation | null> {
  return deps.db.transaction(async (tx) => {
    if (!(await lockKeyChanges(tx, false))) return null;
    const now = new Date(deps.now());
    const unretired = await findUnretiredKeys(tx);
    const newest = unretired.at(-1);
    if (!force && newest && newest.createdAt.getTime() + deps.config.jwt.keyRotation * 1000 > now.getTime()) return null;
    const signsFrom = new Date(now.getTime() + PUBLISH_LEAD_SECONDS * 1000);
    await retireKeys(tx, signsFrom, new Date(signsFrom.getTime() + deps.config.jwt.accessTtl * 1000));
    const row = await insertSigningKey(tx, deps.config, now, signsFrom);
    return { kid: row.kid, signsFrom };
  });
}

/**
 * First start under ES256 (or after every key was revoked): makes a key that signs at once. No token
 * of ours names it yet, so there is nothing to publish ahead of. Waits for the lock: instances that
 * start together make one key.
 */
export async function ensureSigningKey(deps: KeyDeps): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await lockKeyChanges(tx, true);
    const now = new Date(deps.now());
    if ((await findUnretiredKeys(tx)).length === 0) await insertSigningKey(tx, deps.config, now, now);
  });
}

/**
 * Revokes a key (compromised): it leaves the JWKS and is refused at once by every instance that has
 * re-read the key set. When it was the signing key, the next one (if any) signs from now, else a new
 * key does: a compromise cannot wait for publish-before-sign. Null when no such unrevoked key exists.
 */
export async function revokeKey(deps: KeyDeps, kid: string): Promise<{ revoked: SigningKeyRow; signer: string } | null> {
  return deps.db.transaction(async (tx) => {
    await lockKeyChanges(tx, true);
    const now = new Date(deps.now());
    const revoked = await markRevoked(tx, kid, now);
    if (!revoked) return null;
    let signer = (await findSignerAt(tx, now))?.kid;
    if (!signer) {
      const next = (await findUnretiredKeys(tx)).at(-1);
      if (next) await setSignsFrom(tx, next.kid, now);
      signer = next?.kid ?? (await insertSigningKey(tx, deps.config, now, now)).kid;
    }
    return { revoked, signer };
  });
}
