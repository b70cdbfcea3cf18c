import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../src/errors.js";
import { DEFAULT_LIMITS, LIMIT_NAMES, type Limit, type LimitName } from "../src/limits.js";
import { createRateLimiter } from "../src/rate-limit/rate-limiter.js";
import { createMemoryHitStore } from "../src/rate-limit/stores.js";

/*
 * The limiter over graphql-rate-limit, on the in-process store, without a server: its decision is the
 * store's count against the limit, and what one check costs does not grow with the hits in its window.
 */

const limitsWith = (name: LimitName, max: number, window: string, windowMs: number): Record<LimitName, Limit> => {
  const limits = {} as Record<LimitName, Limit>;
  for (const n of LIMIT_NAMES) limits[n] = { ...DEFAULT_LIMITS[n], windowMs: 60_000 };
  limits[name] = { max, window, windowMs };
  return limits;
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("rate limiter (memory store)", () => {
  it("max 3: three checks pass, the 4th is RATE_LIMITED with limit and window; a give-back frees one slot", async () => {
    const limiter = createRateLimiter(limitsWith("loginIp", 3, "15m", 900_000), createMemoryHitStore(), { enabled: true, shared: false });
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(await limiter.check("loginIp", "ip=192.0.2.1"));
    const refused = await limiter.check("loginIp", "ip=192.0.2.1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).extensions).toMatchObject({ code: "RATE_LIMITED", limit: 3, window: 900 });
    // Another key has its own count.
    await expect(limiter.check("loginIp", "ip=192.0.2.2")).resolves.toBeDefined();
    await taken[0]!.release();
    await expect(limiter.check("loginIp", "ip=192.0.2.1")).resolves.toBeDefined();
    await expect(limiter.check("loginIp", "ip=192.0.2.1")).rejects.toBeInstanceOf(AppError);
  });

  it("a limit above the store's hits-per-key cap is enforced at the cap, not left unlimited past it", async () => {
    const limiter = createRateLimiter(limitsWith("loginIp", 100, "15m", 900_000), createMemoryHitStore({ maxHitsPerKey: 5 }), {
      enabled: true,
      shared: false,
    });
    for (let i = 0; i < 5; i++) await limiter.check("loginIp", "ip=192.0.2.5");
    const refused = await limiter.check("loginIp", "ip=192.0.2.5").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).extensions).toMatchObject({ code: "RATE_LIMITED", limit: 100 });
  });

  it("a key with 5000 hits in its window: one more check reads the clock a few times, not once per hit", async () => {
    const limiter = createRateLimiter(limitsWith("loginIp", 1_000_000, "15m", 900_000), createMemoryHitStore(), { enabled: true, shared: false });
    for (let i = 0; i < 5000; i++) await limiter.check("loginIp", "ip=192.0.2.9");
    const now = vi.spyOn(Date, "now");
    await limiter.check("loginIp", "ip=192.0.2.9");
    // The store reads it once, graphql-rate-limit a few times; handed 5000 timestamps it read it 5000 times more.
    expect(now.mock.calls.length).toBeLessThan(10);
  });
});
