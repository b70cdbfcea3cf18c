import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { expectBadInput } from "./support/flows.js";
import { createMailbox } from "./support/mailbox.js";
import { codeAt, createTestClock, mfaCalls, ok, type TestClock } from "./support/mfa.js";
import { startTestServer, type GqlResponse, type TestServer } from "./support/server.js";

let t: TestServer;
let clock: TestClock;
const mailbox = createMailbox();
beforeAll(async () => {
  clock = createTestClock();
  t = await startTestServer({ now: () => clock.now(), mailTransport: mailbox });
});
afterAll(async () => {
  await t?.close();
});
const calls = mfaCalls(() => t, () => clock);

/** "OK", or the code of the first error. */
const outcome = (res: GqlResponse<unknown>) => res.body.errors?.[0]?.extensions.code ?? "OK";

describe("recovery codes", () => {
  it("each of the 10 completes a session once, in any case or grouping; the count goes down; a used one is refused", async () => {
    const account = await calls.mfaAccount("rc");
    for (const [i, code] of account.recoveryCodes.entries()) {
      const pending = await calls.pendingLogin(account);
      const typed = i % 2 === 0 ? code : code.toLowerCase().replace(/-/g, " ");
      const done = ok(await calls.verify(pending.accessToken, typed)).verifyMfa;
      expect(done.user.mfa).toEqual({ totpEnabled: true, recoveryCodesLeft: 9 - i });
      const again = await calls.pendingLogin(account);
      expectBadInput(await calls.verify(again.accessToken, code), "code");
    }
    const used = await auditRows(t, { action: "user.recovery_code_used", targetId: account.id });
    expect(used).toHaveLength(10);
    // Each use is told to the account's address.
    const deadline = Date.now() + 5000;
    while (mailbox.sent.filter((m) => m.to === account.email && /recovery code was used/.test(m.subject)).length < 10) {
      if (Date.now() > deadline) throw new Error("not every recovery-code notice arrived");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it("regenerateRecoveryCodes needs a code, gives 10 new ones and the old set stops working", async () => {
    const account = await calls.mfaAccount("rc");
    expectBadInput(await calls.regenerate(account.session.accessToken, "000000" === codeAt(account.secret, clock) ? "111111" : "000000"), "code");
    clock.nextStep();
    const fresh = ok(await calls.regenerate(account.session.accessToken, codeAt(account.secret, clock))).regenerateRecoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => account.recoveryCodes.includes(c))).toBe(false);
    const pending = await calls.pendingLogin(account);
    expectBadInput(await calls.verify(pending.accessToken, account.recoveryCodes[0]!), "code");
    ok(await calls.verify(pending.accessToken, fresh[0]!));
    expect(await auditRows(t, { action: "user.recovery_codes_regenerated", targetId: account.id })).toHaveLength(1);
    await mailbox.waitFor(account.email, /New recovery codes/);
  });

  it.runIf(backend === "postgres")("one recovery code sent by several sessions at once lets exactly one through (PostgreSQL)", async () => {
    const account = await calls.mfaAccount("rc");
    const sessions = await Promise.all(Array.from({ length: 6 }, () => calls.pendingLogin(account)));
    const code = account.recoveryCodes[3]!;
    const results = await Promise.all(sessions.map((s) => calls.verify(s.accessToken, code)));
    expect(results.map(outcome).sort()).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "OK"]);
    expect(await calls.mfaOf(account.session.accessToken)).toEqual({ totpEnabled: true, recoveryCodesLeft: 9 });
  });
});

describe("concurrent TOTP submissions", () => {
  it.runIf(backend === "postgres")("one TOTP code sent by several sessions at once lets exactly one through (PostgreSQL)", async () => {
    const account = await calls.mfaAccount("race");
    const sessions = await Promise.all(Array.from({ length: 6 }, () => calls.pendingLogin(account)));
    clock.nextStep();
    const code = codeAt(account.secret, clock);
    const results = await Promise.all(sessions.map((s) => calls.verify(s.accessToken, code)));
    expect(results.map(outcome).filter((o) => o === "OK")).toHaveLength(1);
    expect(results.map(outcome).filter((o) => o === "BAD_USER_INPUT")).toHaveLength(5);
    expect(await auditRows(t, { action: "user.mfa_verified", targetId: account.id })).toHaveLength(1);
  });
});

describe("disableTotp", () => {
  it("needs a current code (or a recovery code), then login asks for the password only; audited and mailed", async () => {
    const account = await calls.mfaAccount("off");
    clock.nextStep();
    expectBadInput(await calls.disable(account.session.accessToken, codeAt(account.secret, clock, 60)), "code");
    expect(ok(await calls.disable(account.session.accessToken, account.recoveryCodes[0]!)).disableTotp).toBe(true);
    expect(await calls.mfaOf(account.session.accessToken)).toEqual({ totpEnabled: false, recoveryCodesLeft: 0 });
    expect(ok(await calls.login(account.email)).login.mfaRequired).toBe(false);
    // The other recovery codes died with it.
    expectBadInput(await calls.verify(account.session.accessToken, account.recoveryCodes[1]!), "code");
    expect(await auditRows(t, { action: "user.mfa_disabled", targetId: account.id })).toHaveLength(1);
    await mailbox.waitFor(account.email, /Two-factor authentication is off/);
    await mailbox.waitFor(account.email, /Two-factor authentication is on/);
    // And it can be set up again, with a new secret.
    const again = await calls.enrol(account);
    expect(again.secret).not.toBe(account.secret);
  });
});
