import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTokenService } from "../src/auth/tokens.js";

const JWT = { secret: "token-service-test-secret-0123456789abcdef", issuer: "gatehouse", audience: "gatehouse", accessTtl: 60, refreshTtl: 3600 };

afterEach(() => {
  vi.useRealTimers();
});

describe("token service: verified tokens are remembered, never past their expiry", () => {
  it("accepts a token again and again, then refuses it as expired once its exp has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const tokens = await createTokenService(JWT);
    const claims = { userId: randomUUID(), sessionId: randomUUID() };
    const { token } = await tokens.signAccessToken(claims);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    vi.setSystemTime(Date.now() + 59_000);
    expect(await tokens.verifyAccessToken(token)).toEqual(claims);
    vi.setSystemTime(Date.now() + 2_000);
    await expect(tokens.verifyAccessToken(token)).rejects.toThrow("Access token expired");
  });

  it("refuses a token that differs by one character from one it accepted", async () => {
    const tokens = await createTokenService(JWT);
    const { token } = await tokens.signAccessToken({ userId: randomUUID(), sessionId: randomUUID() });
    await tokens.verifyAccessToken(token);
    // The first character of the signature: 6 whole bits of it (the last one also carries padding).
    const at = token.lastIndexOf(".") + 1;
    const swapped = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
    await expect(tokens.verifyAccessToken(swapped)).rejects.toThrow("Invalid access token");
  });

  it("does not take one server's verification for another's key", async () => {
    const one = await createTokenService(JWT);
    const other = await createTokenService({ ...JWT, secret: "another-secret-another-secret-0123456789" });
    const { token } = await one.signAccessToken({ userId: randomUUID(), sessionId: randomUUID() });
    await one.verifyAccessToken(token);
    await expect(other.verifyAccessToken(token)).rejects.toThrow("Invalid access token");
  });
});
