import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from "../src/auth/mfa/recovery-codes.js";
import { matchTotpStep, totpCodeAt, totpStepAt } from "../src/auth/mfa/totp.js";
import { recoveryCodes, userMfa } from "../src/db/schema.js";
import { deriveKey, isSealed, open } from "../src/lib/sealed.js";
import { auditRows } from "./support/audit.js";
import { expectBadInput, onlyError } from "./support/flows.js";
import { codeAt, createTestClock, mfaCalls, ok, type TestClock } from "./support/mfa.js";
import { startTestServer, type TestServer } from "./support/server.js";

// RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890" (base32 below), 8 digits.
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_VECTORS: Array<[number, string]> = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP wrapper (src/auth/mfa/totp.ts over otplib)", () => {
  it("reproduces every SHA-1 vector of RFC 6238 appendix B with injected time, and reports the step", () => {
    for (const [epoch, code] of RFC_VECTORS) {
      expect(totpCodeAt(RFC_SECRET, epoch, { digits: 8 })).toBe(code);
      expect(matchTotpStep(RFC_SECRET, code, epoch, { digits: 8 })).toBe(Math.floor(epoch / 30));
    }
  });

  it("accepts the current and the previous step only, exactly at the 30-second boundaries", () => {
    const start = 2_000_000_010; // a step boundary: 2_000_000_010 = 66_666_667 * 30
    expect(start % 30).toBe(0);
    const step = totpStepAt(start);
    const current = totpCodeAt(RFC_SECRET, start);
    const previous = totpCodeAt(RFC_SECRET, start - 1);
    const older = totpCodeAt(RFC_SECRET, start - 31);
    const next = totpCodeAt(RFC_SECRET, start + 30);
    // First and last second of the current step: current and previous pass, with their own steps.
    for (const at of [start, start + 29]) {
      expect(matchTotpStep(RFC_SECRET, current, at)).toBe(step);
      expect(matchTotpStep(RFC_SECRET, previous, at)).toBe(step - 1);
      expect(matchTotpStep(RFC_SECRET, older, at)).toBeNull();
      expect(matchTotpStep(RFC_SECRET, next, at)).toBeNull();
    }
    // One second later the step turns: "current" is now the previous one, "previous" too old.
    expect(matchTotpStep(RFC_SECRET, current, start + 30)).toBe(step);
    expect(matchTotpStep(RFC_SECRET, previous, start + 30)).toBeNull();
    // Not a 6-digit code at all.
    for (const junk of ["", "12345", "1234567", "12a456", " 123456"]) expect(matchTotpStep(RFC_SECRET, junk, start)).toBeNull();
  });
});

describe("recovery codes", () => {
  it("are 10 distinct codes of 24 base32 characters (120 bits), typeable in any case and grouping", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$/);
      const sloppy = ` ${code.toLowerCase().replace(/-/g, " ")} `;
      expect(normalizeRecoveryCode(sloppy)).toBe(code.replace(/-/g, ""));
      expect(hashRecoveryCode(sloppy)).toBe(hashRecoveryCode(code));
      expect(hashRecoveryCode(code)).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(normalizeRecoveryCode("ABCD-EFGH-0000-IJKL-MNOP-QRST")).toBeNull(); // 0 is not base32
  });
});

let t: TestServer;
let clock: TestClock;
beforeAll(async () => {
  clock = createTestClock();
  t = await startTestServer({ now: () => clock.now(), env: { APP_NAME: "Gate House" } });
});
afterAll(async () => {
  await t?.close();
});
const calls = mfaCalls(() => t, () => clock);

describe("enrolment", () => {
  it("startTotpSetup needs the current password and returns the secret and its otpauth URI (issuer APP_NAME, label the email)", async () => {
    const account = await calls.signUp();
    expectBadInput(await calls.start(account.session.accessToken, "not the password"), "currentPassword");
    const { secret, otpauthUri } = ok(await calls.start(account.session.accessToken)).startTotpSetup;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(otpauthUri.startsWith(`otpauth://totp/Gate%20House:${encodeURIComponent(account.email)}?`)).toBe(true);
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("issuer")).toBe("Gate House");
    // Not on until confirmed: login is still a plain one.
    expect(await calls.mfaOf(account.session.accessToken)).toEqual({ totpEnabled: false, recoveryCodesLeft: 0 });
    expect(ok(await calls.login(account.email)).login.mfaRequired).toBe(false);
  });

  it("confirmTotpSetup turns TOTP on only with a valid code and returns 10 recovery codes; the step is spent", async () => {
    const account = await calls.signUp();
    const { secret } = ok(await calls.start(account.session.accessToken)).startTotpSetup;
    clock.nextStep();
    expectBadInput(await calls.confirm(account.session.accessToken, "000000" === codeAt(secret, clock) ? "111111" : "000000"), "code");
    expectBadInput(await calls.confirm(account.session.accessToken, "12345"), "code");
    expect(await calls.mfaOf(account.session.accessToken)).toEqual({ totpEnabled: false, recoveryCodesLeft: 0 });

    const codes = ok(await calls.confirm(account.session.accessToken, codeAt(secret, clock))).confirmTotpSetup;
    expect(codes).toHaveLength(10);
    expect(await calls.mfaOf(account.session.accessToken)).toEqual({ totpEnabled: true, recoveryCodesLeft: 10 });
    // Confirming again, or restarting the setup, is a CONFLICT while TOTP is on.
    expect(onlyError(await calls.start(account.session.accessToken)).extensions.code).toBe("CONFLICT");
    // The confirming code's step is spent: verifyMfa with it in the same step is a replay.
    const pending = await calls.pendingLogin(account);
    expectBadInput(await calls.verify(pending.accessToken, codeAt(secret, clock)), "code");
    expect((await auditRows(t, { action: ["user.mfa_setup_started", "user.mfa_enabled"], targetId: account.id })).map((r) => r.action)).toEqual([
      "user.mfa_setup_started",
      "user.mfa_enabled",
    ]);
  });

  it("stores the secret sealed (AES-256-GCM, HKDF key of its own, bound to the user) and the recovery codes as SHA-256 only", async () => {
    const account = await calls.mfaAccount();
    const [row] = await t.deps.db.select().from(userMfa).where(eq(userMfa.userId, account.id));
    expect(row!.totpSecret).not.toContain(account.secret);
    expect(isSealed(row!.totpSecret)).toBe(true);
    const key = deriveKey(t.config.encryptionSecret, "gatehouse totp v1");
    expect(open(key, row!.totpSecret, `user_mfa:${account.id}`)).toBe(account.secret);
    // Bound to this user: under another user's id (a row copied over) it does not open.
    expect(() => open(key, row!.totpSecret, "user_mfa:00000000-0000-4000-8000-000000000000")).toThrow();
    // The outbox key opens nothing of it.
    expect(() => open(deriveKey(t.config.encryptionSecret, "gatehouse outbox body v1"), row!.totpSecret, `user_mfa:${account.id}`)).toThrow();
    const stored = await t.deps.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, account.id));
    expect(stored.map((r) => r.codeHash).sort()).toEqual(account.recoveryCodes.map(hashRecoveryCode).sort());
    for (const code of account.recoveryCodes) expect(JSON.stringify(stored)).not.toContain(code.replace(/-/g, "").slice(0, 8));
  });
});

describe("verifyMfa and the time steps", () => {
  it("accepts a code of the previous step and refuses one of the next step or two steps back", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    clock.nextStep(); // the enrolling step is spent: the "previous" step below must be a fresh one
    clock.nextStep(0); // the first second of a fresh step
    expectBadInput(await calls.verify(pending.accessToken, codeAt(account.secret, clock, 30)), "code");
    expectBadInput(await calls.verify(pending.accessToken, codeAt(account.secret, clock, -31)), "code");
    const done = ok(await calls.verify(pending.accessToken, codeAt(account.secret, clock, -1))).verifyMfa;
    expect(done.mfaRequired).toBe(false);
  });

  it("refuses a spent step again, and any older one: each step passes once per user", async () => {
    const account = await calls.mfaAccount();
    const first = await calls.pendingLogin(account);
    const second = await calls.pendingLogin(account);
    clock.nextStep();
    const code = codeAt(account.secret, clock);
    ok(await calls.verify(first.accessToken, code));
    const replay = await calls.verify(second.accessToken, code);
    expectBadInput(replay, "code");
    expect(onlyError(replay).extensions["fields"]).toEqual([{ field: "code", message: expect.stringMatching(/already used/) }]);
    // The previous step's code is older than the spent one: refused too.
    expectBadInput(await calls.verify(second.accessToken, codeAt(account.secret, clock, -30)), "code");
    // The next step works.
    clock.nextStep();
    ok(await calls.verify(second.accessToken, codeAt(account.secret, clock)));
    expect(await auditRows(t, { action: "user.mfa_failed", targetId: account.id })).toHaveLength(2);
  });
});
