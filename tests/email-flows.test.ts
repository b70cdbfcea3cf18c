import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { emailOutbox, users } from "../src/db/schema.js";
import { auditDetails, auditRows } from "./support/audit.js";
import {
  BASE,
  CHANGE_SUBJECT,
  ME,
  RESEND,
  REQUEST_RESET,
  RESET_SUBJECT,
  UPDATE_ME,
  VERIFY_SUBJECT,
  emailFlowCalls,
  type UserView,
} from "./support/email-flows.js";
import { expectBadInput, REGISTER, logIn, onlyError, signUp, type TestUser } from "./support/flows.js";
import { createMailbox, type Mailbox } from "./support/mailbox.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

const mailbox: Mailbox = createMailbox();
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ mailTransport: mailbox });
});
afterAll(async () => {
  await t?.close();
});

const { mailTo, nthMail, verify, reset, expireTokens, loginCode, requestReset } = emailFlowCalls(() => t, mailbox);

describe("email verification", () => {
  it("registration sends a link (text and html) that verifies the address once", async () => {
    const user = await signUp(t);
    const msg = await mailbox.waitFor(user.email, VERIFY_SUBJECT);
    const token = mailbox.tokenFrom(msg, "verify-email");
    const url = `${BASE}/verify-email?token=${encodeURIComponent(token)}`;
    expect(msg.text).toContain(url);
    expect(msg.html).toContain(url);

    const ok = await verify(token);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data!.verifyEmail).toEqual({ id: user.id, email: user.email, emailVerified: true, pendingEmail: null });
    expectBadInput(await verify(token), "token");
  });

  it("refuses a garbage or empty token on field token", async () => {
    expectBadInput(await verify("not-a-real-token-at-all"), "token");
    expectBadInput(await verify(""), "token");
  });

  it("refuses an expired link", async () => {
    const user = await signUp(t);
    const token = mailbox.tokenFrom(await mailbox.waitFor(user.email, VERIFY_SUBJECT), "verify-email");
    await expireTokens(user.id, "VERIFY_EMAIL");
    expectBadInput(await verify(token), "token");
    const me = await t.gql<{ me: UserView }>(ME, undefined, { token: user.accessToken });
    expect(me.body.data!.me.emailVerified).toBe(false);
  });

  it("resendVerificationEmail needs a session", async () => {
    expect(onlyError(await t.gql(RESEND)).extensions.code).toBe("UNAUTHENTICATED");
  });

  it("resend sends a new link, kills the older one, and sends nothing once verified", async () => {
    const user = await signUp(t);
    const first = mailbox.tokenFrom(await nthMail(user.email, VERIFY_SUBJECT, 0), "verify-email");
    const res = await t.gql(RESEND, undefined, { token: user.accessToken });
    expect(res.body).toEqual({ data: { resendVerificationEmail: true } });
    const second = mailbox.tokenFrom(await nthMail(user.email, VERIFY_SUBJECT, 1), "verify-email");
    expect(second).not.toBe(first);

    expectBadInput(await verify(first), "token");
    expect((await verify(second)).body.data?.verifyEmail.emailVerified).toBe(true);

    const rowsBefore = await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, user.email));
    const again = await t.gql(RESEND, undefined, { token: user.accessToken });
    expect(again.body).toEqual({ data: { resendVerificationEmail: false } });
    const rowsAfter = await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, user.email));
    expect(rowsAfter).toHaveLength(rowsBefore.length);
    // One worker sends in queue order: once a reset mail queued after it has come, a third verification
    // mail would have come too.
    await requestReset(user.email);
    await mailbox.waitFor(user.email, RESET_SUBJECT);
    expect(mailTo(user.email, VERIFY_SUBJECT)).toHaveLength(2);
  });
});

describe("requestPasswordReset", () => {
  it("answers true for known, unknown and deactivated addresses, and mails only the active account", async () => {
    const active = await signUp(t);
    const gone = await signUp(t);
    const deact = await t.gql(`mutation { deactivateMe(confirm: true) }`, undefined, { token: gone.accessToken });
    expect(deact.body).toEqual({ data: { deactivateMe: true } });
    const unknown = uniqueEmail("nobody");

    await requestReset(unknown);
    await requestReset(gone.email);
    await requestReset(active.email);
    const msg = await mailbox.waitFor(active.email, RESET_SUBJECT);
    expect(msg.text).toContain(`${BASE}/reset-password?token=${encodeURIComponent(mailbox.tokenFrom(msg, "reset-password"))}`);

    // One worker sends in queue order, and both were asked for before the active one: had either been
    // queued, it would have come before the mail just received.
    expect(mailbox.sent.filter((m) => m.to === unknown)).toEqual([]);
    expect(mailTo(gone.email, RESET_SUBJECT)).toEqual([]);
    const queued = await t.deps.db.select().from(emailOutbox).where(eq(emailOutbox.template, "reset-password"));
    expect(queued.map((r) => r.toAddress)).not.toContain(unknown);
    expect(queued.map((r) => r.toAddress)).not.toContain(gone.email);

    const requested = await auditRows(t, { action: "user.password_reset_requested" });
    const emails = requested.map((r) => r.details?.["email"]);
    expect(emails).toEqual(expect.arrayContaining([unknown, gone.email, active.email]));
    expect(await auditDetails(t, { action: "user.password_reset_requested", targetId: gone.id })).toHaveLength(1);
  });

  it("refuses a malformed address on field email", async () => {
    expectBadInput(await t.gql(REQUEST_RESET, { email: "not-an-email" }), "email");
  });
});

describe("resetPassword", () => {
  async function resetToken(user: TestUser, index = 0): Promise<string> {
    await requestReset(user.email);
    return mailbox.tokenFrom(await nthMail(user.email, RESET_SUBJECT, index), "reset-password");
  }

  it("refuses a weak password without spending the token, then resets and ends every session", async () => {
    const user = await signUp(t);
    const second = await logIn(t, user.email, user.password);
    const token = await resetToken(user);

    expectBadInput(await reset(token, "password"), "newPassword");
    expect((await reset(token, OTHER_STRONG_PASSWORD)).body).toEqual({ data: { resetPassword: true } });

    expect(await loginCode(user.email, STRONG_PASSWORD)).toBe("UNAUTHENTICATED");
    expect(await loginCode(user.email, OTHER_STRONG_PASSWORD)).toBeUndefined();
    for (const accessToken of [user.accessToken, second.accessToken]) {
      expect(onlyError(await t.gql(ME, undefined, { token: accessToken })).extensions.code).toBe("UNAUTHENTICATED");
    }
    const notice = await mailbox.waitFor(user.email, /^Your Gatehouse password was changed$/);
    expect(notice.text).not.toContain("token=");
    expect(await auditDetails(t, { action: "user.password_reset", targetId: user.id })).toHaveLength(1);

    expectBadInput(await reset(token, "Another-Unusual-Passphrase-77"), "token");
    expect(await loginCode(user.email, OTHER_STRONG_PASSWORD)).toBeUndefined();
  });

  it("refuses a link superseded by a newer request, and an expired one", async () => {
    const user = await signUp(t);
    const older = await resetToken(user, 0);
    const newer = await resetToken(user, 1);
    expectBadInput(await reset(older, OTHER_STRONG_PASSWORD), "token");
    await expireTokens(user.id, "RESET_PASSWORD");
    expectBadInput(await reset(newer, OTHER_STRONG_PASSWORD), "token");
    expect(await loginCode(user.email, STRONG_PASSWORD)).toBeUndefined();
  });

  // Means something on PGlite too: the token is read, and the new password hashed, before the transaction
  // that spends it, so there all five reach that transaction and its conditional UPDATE decides.
  it("lets exactly one of 5 concurrent resets with one token through", async () => {
    const user = await signUp(t);
    const token = await resetToken(user);
    const results = await Promise.all(Array.from({ length: 5 }, () => reset(token, OTHER_STRONG_PASSWORD)));
    expect(results.filter((r) => r.body.data?.resetPassword === true)).toHaveLength(1);
    const refused = results.filter((r) => r.body.errors !== undefined);
    expect(refused).toHaveLength(4);
    for (const r of refused) expectBadInput(r, "token");
    expect(await auditDetails(t, { action: "user.password_reset", targetId: user.id })).toHaveLength(1);
  });
});

describe("email change", () => {
  const changeEmail = (user: TestUser, email: string): Promise<GqlResponse<{ updateMe: UserView }>> =>
    t.gql<{ updateMe: UserView }>(UPDATE_ME, { input: { email, currentPassword: user.password } }, { token: user.accessToken });

  it("keeps the address until the new one confirms, then swaps it in", async () => {
    const user = await signUp(t);
    const next = uniqueEmail("new");
    const res = await changeEmail(user, next);
    expect(res.body.data?.updateMe).toEqual({ id: user.id, email: user.email, emailVerified: false, pendingEmail: next });

    const confirm = await mailbox.waitFor(next, CHANGE_SUBJECT);
    const token = mailbox.tokenFrom(confirm, "verify-email");
    expect(confirm.text).toContain(`${BASE}/verify-email?token=${encodeURIComponent(token)}`);
    const notice = await mailbox.waitFor(user.email, /^Your Gatehouse email address is being changed$/);
    expect(notice.text).toContain(next);
    expect(notice.text).not.toContain("token=");

    const done = await verify(token);
    expect(done.body.data?.verifyEmail).toEqual({ id: user.id, email: next, emailVerified: true, pendingEmail: null });
    expect(await auditDetails(t, { action: "user.email_changed", targetId: user.id })).toEqual([{ before: { email: user.email }, after: { email: next } }]);
    expect(await loginCode(next, user.password)).toBeUndefined();
    expect(await loginCode(user.email, user.password)).toBe("UNAUTHENTICATED");
  });

  it("refuses an address another account owns, and a malformed one", async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    expect(onlyError(await changeEmail(user, other.email.toUpperCase())).extensions.code).toBe("CONFLICT");
    expectBadInput(await changeEmail(user, "nope@"), "email");
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.pendingEmail).toBeNull();
  });

  it("answers CONFLICT when someone registers the pending address before it is confirmed", async () => {
    const user = await signUp(t);
    const next = uniqueEmail("taken");
    expect((await changeEmail(user, next)).body.data?.updateMe.pendingEmail).toBe(next);
    const token = mailbox.tokenFrom(await mailbox.waitFor(next, CHANGE_SUBJECT), "verify-email");
    const reg = await t.gql(REGISTER, { input: { email: next, password: STRONG_PASSWORD, fullName: "Squatter" } });
    expect(reg.body.errors).toBeUndefined();

    expect(onlyError(await verify(token)).extensions.code).toBe("CONFLICT");
    const me = await t.gql<{ me: UserView }>(ME, undefined, { token: user.accessToken });
    expect(me.body.data!.me.email).toBe(user.email);
  });

  it("a second request supersedes the first link", async () => {
    const user = await signUp(t);
    const [a, b] = [uniqueEmail("first"), uniqueEmail("second")];
    await changeEmail(user, a);
    const firstToken = mailbox.tokenFrom(await mailbox.waitFor(a, CHANGE_SUBJECT), "verify-email");
    expect((await changeEmail(user, b)).body.data?.updateMe.pendingEmail).toBe(b);
    expectBadInput(await verify(firstToken), "token");
    const secondToken = mailbox.tokenFrom(await mailbox.waitFor(b, CHANGE_SUBJECT), "verify-email");
    expect((await verify(secondToken)).body.data?.verifyEmail.email).toBe(b);
  });

  it("asking for the current address cancels a pending change", async () => {
    const user = await signUp(t);
    const next = uniqueEmail("cancelled");
    await changeEmail(user, next);
    const token = mailbox.tokenFrom(await mailbox.waitFor(next, CHANGE_SUBJECT), "verify-email");
    const res = await changeEmail(user, user.email);
    expect(res.body.data?.updateMe).toEqual({ id: user.id, email: user.email, emailVerified: false, pendingEmail: null });
    expectBadInput(await verify(token), "token");
    const me = await t.gql<{ me: UserView }>(ME, undefined, { token: user.accessToken });
    expect(me.body.data!.me).toMatchObject({ email: user.email, pendingEmail: null });
  });
});

describe("outbox", () => {
  it("marks every delivered email SENT, once, and clears its bodies", async () => {
    // Its own emails, more than two batches' worth, so it needs no other test to have run first.
    const addresses = Array.from({ length: 11 }, () => uniqueEmail("outbox"));
    for (const email of addresses) {
      const reg = await t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Outbox" } });
      expect(reg.body.errors).toBeUndefined();
      await requestReset(email);
    }
    const own = () => t.deps.db.select().from(emailOutbox).where(inArray(emailOutbox.toAddress, addresses));
    const deadline = Date.now() + 5000;
    let rows = await own();
    while (rows.some((r) => r.status === "PENDING") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      rows = await own();
    }
    expect(rows.length).toBeGreaterThan(20);
    const sent = mailbox.sent.filter((m) => addresses.includes(m.to));
    expect(rows.map((r) => r.id).sort()).toEqual(sent.map((m) => m.id).sort());
    for (const row of rows) {
      expect({ id: row.id, status: row.status, text: row.textBody, html: row.htmlBody }).toEqual({ id: row.id, status: "SENT", text: null, html: null });
    }
  });
});
