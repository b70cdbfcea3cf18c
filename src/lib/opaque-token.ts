import { createHash, randomBytes } from "node:crypto";

/*
 * Opaque secrets handed to a client once (refresh tokens, links in emails). Only the hash is stored, so
 * the kernel holds them: auth's sessions and email's single-use tokens both mint and look them up.
 */

/** 256 random bits, URL-safe. Only its SHA-256 is stored. */
export function generateOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * SHA-256, hex. Tokens are looked up by this hash through a unique index: a stolen database
 * yields no usable token, and the lookup compares hashes that an attacker cannot steer.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
