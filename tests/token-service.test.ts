import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTokenService as createService } from "../src/auth/tokens.js";
import type { SigningKeySet } from "../src/deps.js";

/* The HS256 mode's cache; the ES256 key set's own rules are in signing-keys-*.test.ts. */
const JWT = {
  algorithm: "HS256" as const,
  secret: "token-service-test-secret-0123456789abcdef",
  secretGiven: true,
  keyRotation: 30 * 86_400,
  issuer: "gatehouse",
  audience: "gatehouse",
  accessTtl: 60,
  refreshTtl: 3600,
};
/** HS256 never asks the key set anything: an empty one. */
const noKeys: SigningKeySet = {
  signer: () => undefined,
  verifier: () => undefined,
  jwks: () => ({ keys: [] }),
  acceptsHs256: () => false,
  reload: async () => undefined,
  changed: async () => undefined,
  start: async () => undefined,
  stop: async () => undefined,
};
const createTokenService = (jwt: typeof JWT) => createService(jwt, noKeys);
const user = () => ({ userId: randomUUID(), sessionId: randomUUID(), role: "USER" as const, emailVerified: true });

afterEach(() => {
  vi.useRealTimers();
});

describe("token service: verified tokens are remembered, never past their expiry", () => {
  it("accepts a token again and again, then refuses it as expired once its exp has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const tokens = await createTokenService(JWT);
    const input = user();
    const claims = { userId: input.userId, sessionId: input.sessionId };
    const { token } = await tokens.signAccessToken(input);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    vi.setSystemTime(Date.now() + 59_000);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    vi.setSystemTime(Date.now() + 2_000);
    await expect(tokens.verifyAccessToken(token)).rejects.toThrow("Access token expired");
  });

  it("refuses a token that differs by one character from one it accepted", async () => {
    const tokens = await createTokenService(JWT);
    const { token } = await tokens.signAccessToken(user());
    await tokens.verifyAccessToken(token);
    // The first character of the signature: 6 whole bits of it (the last one also carries padding).
    const at = token.lastIndexOf(".") + 1;
    const swapped = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
    await expect(tokens.verifyAccessToken(swapped)).rejects.toThrow("Invalid access token");
  });

  it("does not take one server's verification for another's key", async () => {
    const one = await createTokenService(JWT);
    const other = await createTokenService({ ...JWT, secret: "another-secret-another-secret-0123456789" });
    const { token } = await one.signAccessToken(user());
    await one.verifyAccessToken(token);
    await expect(other.verifyAccessToken(token)).rejects.toThrow("Invalid access token");
  });
});
