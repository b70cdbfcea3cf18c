import { randomBytes } from "node:crypto";
import { hashToken } from "../../lib/opaque-token.js";

/*
 * Recovery codes: 10 per set, each 24 characters of RFC 4648 base32 (A-Z, 2-7: no 0/1/8/9 to mistake
 * for O/I/B/g) = 120 random bits, shown as six groups of four ("ABCD-EFGH-…"). 120 bits is past the 112
 * that makes a plain SHA-256 safe to store (no guessing a preimage), so checking one costs a hash, not
 * an argon2, and is looked up by that hash through the primary key.
 */

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CODE_CHARS = 24;
const GROUP = 4;
const NORMALIZED = /^[A-Z2-7]{24}$/;

/** One new code, formatted for display. */
function generateRecoveryCode(): string {
  // 15 random bytes = 120 bits = 24 base32 characters of 5 bits each, no bias.
  const bytes = randomBytes(15);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(new RegExp(`.{${GROUP}}`, "g"))!.join("-");
}

/** A fresh set of codes, formatted for display. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
}

/**
 * The canonical form of what a user typed: case, spaces and dashes do not matter. Null when it cannot
 * be a recovery code.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const canonical = input.replace(/[\s-]/g, "").toUpperCase();
  return canonical.length === CODE_CHARS && NORMALIZED.test(canonical) ? canonical : null;
}

/** What is stored for a code (given in any form normalizeRecoveryCode accepts, or as generated). */
export function hashRecoveryCode(code: string): string {
  const canonical = normalizeRecoveryCode(code);
  if (!canonical) throw new TypeError("not a recovery code");
  return hashToken(`gatehouse recovery code v1:${canonical}`);
}
