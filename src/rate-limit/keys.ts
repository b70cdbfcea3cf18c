import { createHash } from "node:crypto";
import { emailSchema } from "../lib/validation.js";
import { rateLimitAddress } from "../lib/ip.js";

/**
 * The parts rate-limit keys are built from. Every part is bounded whatever the client sends (a key
 * is at most a few dozen bytes), because keys live in Redis and in process memory: a 90 kB "email"
 * must not become a 90 kB key.
 */

/** Longest key the limiter stores as is; anything longer is hashed (defence in depth: none should be). */
export const MAX_KEY_LENGTH = 200;

/** The marker of an email that fails validation: it names no account (see `emailKeyPart`). */
export const INVALID_EMAIL = "invalid";

const digest = (value: string): string => createHash("sha256").update(value).digest("base64url").slice(0, 22);

/**
 * `email=<128-bit SHA-256 prefix of the normalised address>` (trimmed, lower-cased as the services do,
 * so "A@x.io " and "a@x.io" share one counter), or `email=invalid` for input that is no email.
 * Invalid input shares one marker rather than a hash of its own: with a hash per junk string, each
 * variant would mint a fresh counter (and fill the store), so junk could escape the address + email
 * limit and evict real counters. Hashed, an address is not readable in Redis either.
 */
export function emailKeyPart(raw: unknown): string {
  const parsed = emailSchema.safeParse(raw);
  return `email=${parsed.success ? digest(parsed.data) : INVALID_EMAIL}`;
}

/** `ip=<address>`: IPv4 as is, IPv6 as its /64 (one end site; see `rateLimitAddress`). */
export function ipKeyPart(ip: string | null): string {
  return `ip=${ip ? rateLimitAddress(ip) : "unknown"}`;
}

/** `user=<uuid>`. */
export const userKeyPart = (userId: string): string => `user=${userId}`;

/** The key as given when short enough, else a digest of it: never more than MAX_KEY_LENGTH bytes. */
export function boundKey(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `h=${digest(key)}`;
}
