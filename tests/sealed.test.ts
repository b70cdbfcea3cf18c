import { createSecretKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveKey, deriveSecret, isSealed, open, seal, SealedValueError } from "../src/lib/sealed.js";

const SECRET = "an-encryption-secret-of-at-least-32-bytes";
const key = deriveKey(SECRET, "gatehouse test purpose v1");

/** Flips one bit of the base64url character at `index` of the envelope's last part. */
function flip(sealed: string, index: number): string {
  const [version, iv, body] = sealed.split(".") as [string, string, string];
  const bytes = Buffer.from(body, "base64url");
  bytes[index < 0 ? bytes.length + index : index]! ^= 0x01;
  return `${version}.${iv}.${bytes.toString("base64url")}`;
}

describe("sealed values (AES-256-GCM envelope)", () => {
  it("round-trips text, including the empty string and non-ASCII", () => {
    for (const plain of ["", "https://app.example/reset-password?token=abc", "Grüße, 名前 🙂".repeat(100)]) {
      const sealed = seal(key, plain);
      expect(isSealed(sealed)).toBe(true);
      expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      expect(open(key, sealed)).toBe(plain);
    }
  });

  it("uses a different IV (and so ciphertext) for the same plaintext every time", () => {
    const values = Array.from({ length: 50 }, () => seal(key, "same text"));
    expect(new Set(values.map((v) => v.split(".")[1])).size).toBe(50);
    expect(new Set(values).size).toBe(50);
  });

  it("does not contain the plaintext", () => {
    const sealed = seal(key, "token=secret-link-value");
    expect(sealed).not.toContain("secret-link-value");
    expect(Buffer.from(sealed.split(".")[2]!, "base64url").toString("latin1")).not.toContain("secret-link-value");
  });

  it("refuses a wrong key, another purpose's key, and another secret's key", () => {
    const sealed = seal(key, "hello");
    for (const other of [deriveKey(SECRET, "gatehouse other purpose v1"), deriveKey(`${SECRET}!`, "gatehouse test purpose v1")]) {
      expect(() => open(other, sealed)).toThrow(SealedValueError);
    }
  });

  it("refuses a tampered tag, ciphertext or IV", () => {
    const sealed = seal(key, "a message long enough to tamper with");
    expect(() => open(key, flip(sealed, -1))).toThrow(/authentication failed/); // the tag
    expect(() => open(key, flip(sealed, 0))).toThrow(/authentication failed/); // the ciphertext
    const [version, iv, body] = sealed.split(".") as [string, string, string];
    const ivBytes = Buffer.from(iv, "base64url");
    ivBytes[0]! ^= 0x80;
    expect(() => open(key, `${version}.${ivBytes.toString("base64url")}.${body}`)).toThrow(/authentication failed/);
  });

  it("binds the context: a value opens only with the context it was sealed with", () => {
    const sealed = seal(key, "body", "email_outbox/1/text");
    expect(open(key, sealed, "email_outbox/1/text")).toBe("body");
    expect(() => open(key, sealed, "email_outbox/2/text")).toThrow(SealedValueError);
    expect(() => open(key, sealed)).toThrow(SealedValueError);
  });

  it("refuses what is not an envelope, and keys that are not 256-bit", () => {
    for (const bad of ["", "plain text", "v1.", "v1.short.abc", `v2.${"A".repeat(16)}.${"A".repeat(32)}`, `v1.${"A".repeat(16)}.AAAA`]) {
      expect(() => open(key, bad), bad).toThrow(SealedValueError);
    }
    expect(() => seal(createSecretKey(Buffer.alloc(16)), "x")).toThrow(TypeError);
  });

  it("derives stable, purpose-separated keys and secrets", () => {
    expect(open(deriveKey(SECRET, "gatehouse test purpose v1"), seal(key, "same key"))).toBe("same key");
    expect(deriveSecret(SECRET, "a")).toBe(deriveSecret(SECRET, "a"));
    expect(deriveSecret(SECRET, "a")).not.toBe(deriveSecret(SECRET, "b"));
    expect(deriveSecret(SECRET, "a")).not.toContain(SECRET);
  });
});
