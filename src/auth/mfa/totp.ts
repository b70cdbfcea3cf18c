import { generateSecret, generateURI, generateSync, verifySync } from "otplib";

/*
 * RFC 6238 through otplib (its noble HMAC and scure base32 plugins), never by hand. Gatehouse's
 * profile (API.md §7): SHA-1, 6 digits, 30-second steps, the current and the previous step accepted.
 * Callers pass the time (epoch seconds): the service reads it from deps.now, so tests can step the clock.
 */

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

export interface TotpOptions {
  /** 6 in the product; 8 only for the RFC 6238 appendix B vectors. */
  digits?: 6 | 8;
}

/** A fresh secret: 20 random bytes (160 bits, RFC 4226's recommendation), base32 as authenticator apps expect. */
export function generateTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans: otpauth://totp/<issuer>:<label>?secret=…&issuer=<issuer>. */
export function totpUri(issuer: string, label: string, secret: string): string {
  return generateURI({ issuer, label, secret, algorithm: "sha1", digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}

/** The RFC 6238 time step that `epochSeconds` falls in. */
export const totpStepAt = (epochSeconds: number): number => Math.floor(epochSeconds / TOTP_PERIOD_SECONDS);

/** The code for `epochSeconds` (what an authenticator app shows then). */
export function totpCodeAt(secret: string, epochSeconds: number, options: TotpOptions = {}): string {
  return generateSync({ secret, epoch: epochSeconds, period: TOTP_PERIOD_SECONDS, digits: options.digits ?? TOTP_DIGITS, algorithm: "sha1" });
}

/**
 * The time step whose code `code` is, if it is the code of the step `epochSeconds` falls in or of the
 * one before (a code typed just before the step turned); null otherwise. otplib compares in constant
 * time. Whether that step was already spent is the caller's compare-and-set, not this function's.
 */
export function matchTotpStep(secret: string, code: string, epochSeconds: number, options: TotpOptions = {}): number | null {
  const digits = options.digits ?? TOTP_DIGITS;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return null;
  const result = verifySync({
    secret,
    token: code,
    epoch: epochSeconds,
    period: TOTP_PERIOD_SECONDS,
    digits,
    algorithm: "sha1",
    // [past, future] in seconds: one period back reaches the previous step, none forward.
    epochTolerance: [TOTP_PERIOD_SECONDS, 0],
  });
  // otplib's result type covers HOTP too; a TOTP match always carries its timeStep.
  return result.valid && "timeStep" in result ? result.timeStep : null;
}
