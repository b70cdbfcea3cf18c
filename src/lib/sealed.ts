import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";

/*
 * Authenticated encryption of values kept at rest (outbox bodies today; TOTP secrets and signing keys
 * can use the same envelope). AES-256-GCM, a fresh random 96-bit IV per value, and a self-describing
 * text form that names its version, so a later scheme can be read beside this one:
 *
 *   v1.<iv, base64url>.<ciphertext followed by the 16-byte tag, base64url>
 */

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const ENVELOPE = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/;

/** A value that is not a v1 envelope, or whose tag does not match under this key (wrong key or tampered). */
export class SealedValueError extends Error {
  constructor(reason: string) {
    super(`cannot open sealed value: ${reason}`);
    this.name = "SealedValueError";
  }
}

/**
 * A 256-bit key for one purpose, derived with HKDF-SHA256 from a secret. Distinct `purpose` labels
 * give independent keys from one secret, so a key leaked from one use opens nothing of another.
 */
export function deriveKey(secret: string | Uint8Array, purpose: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), purpose, KEY_BYTES)));
}

/**
 * The key of one purpose (its own HKDF label), derived from ENCRYPTION_SECRET once per secret and kept:
 * sealing sits on request paths (a queued email, a TOTP check, an OAuth flow), HKDF need not. Each
 * feature that seals something declares one: `const totpKey = sealingKeyFor("gatehouse totp v1")`.
 */
export function sealingKeyFor(purpose: string): (config: { readonly encryptionSecret: string }) => KeyObject {
  const keys = new Map<string, KeyObject>();
  return (config) => {
    let key = keys.get(config.encryptionSecret);
    if (!key) {
      if (keys.size >= 4) keys.clear(); // one secret per process; tests make a few
      keys.set(config.encryptionSecret, (key = deriveKey(config.encryptionSecret, purpose)));
    }
    return key;
  };
}

/** Same derivation as deriveKey, as text: for a secret that is itself configuration (base64url). */
export function deriveSecret(secret: string | Uint8Array, purpose: string): string {
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), purpose, KEY_BYTES)).toString("base64url");
}

/** True when the value has the envelope's shape (it may still fail to open). */
export function isSealed(value: string): boolean {
  return value.startsWith(`${VERSION}.`);
}

function checkKey(key: KeyObject): void {
  if (key.type !== "secret" || key.symmetricKeySize !== KEY_BYTES) throw new TypeError("sealed values need a 256-bit secret key");
}

/**
 * Encrypts `plaintext` under `key`. `context` (optional) is bound as associated data: the value then
 * opens only with the same context (e.g. the id of the row it belongs to), so it cannot be moved.
 */
export function seal(key: KeyObject, plaintext: string, context = ""): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString("base64url")}.${body.toString("base64url")}`;
}

/** Decrypts a value made by seal() with the same key and context; throws SealedValueError otherwise. */
export function open(key: KeyObject, sealed: string, context = ""): string {
  checkKey(key);
  const match = ENVELOPE.exec(sealed);
  if (!match) throw new SealedValueError("not a v1 envelope");
  const iv = Buffer.from(match[1]!, "base64url");
  const body = Buffer.from(match[2]!, "base64url");
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SealedValueError("not a v1 envelope");
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    // Node says only "Unsupported state or unable to authenticate data": nothing secret to keep.
    throw new SealedValueError("authentication failed (wrong key or altered value)");
  }
}
