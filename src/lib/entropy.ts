/** What a production JWT_SECRET must carry (API.md §5): 128 bits, as much as an HS256 key needs. */
export const MIN_PRODUCTION_SECRET_BITS = 128;

/**
 * An upper-bound-ish estimate of the entropy of a secret, in bits: the Shannon entropy of its
 * characters' frequencies times its length, over its shortest repeating unit only (a string that is
 * a block said again, "abcabcabc…" or "0123456789abcdef" twice, carries no more than the block).
 * It cannot tell a random string from a clever human one; it refuses what is obviously weak: a
 * repeated character, a short alphabet, a repeated block. 32 random bytes in hex score about 240
 * bits, in base64 about 215.
 */
export function estimateEntropyBits(secret: string): number {
  const chars = Array.from(secret);
  const unit = chars.slice(0, shortestPeriod(chars));
  const counts = new Map<string, number>();
  for (const c of unit) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / unit.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * unit.length;
}

/** The smallest p such that chars[i] === chars[i - p] for every i >= p (KMP's failure function). */
function shortestPeriod(chars: readonly string[]): number {
  if (chars.length === 0) return 0;
  const border = new Array<number>(chars.length).fill(0);
  for (let i = 1, k = 0; i < chars.length; i++) {
    while (k > 0 && chars[i] !== chars[k]) k = border[k - 1]!;
    if (chars[i] === chars[k]) k++;
    border[i] = k;
  }
  return chars.length - border[chars.length - 1]!;
}
