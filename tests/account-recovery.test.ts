import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateOpaqueToken, hashToken } from "../src/lib/opaque-token.js";
import { emailOutbox, emailTokens } from "../src/db/schema.js";
import { auditDetails } from "./support/audit.js";
import { expectBadInput, logIn, onlyError, REGISTER, signUp, type AuthTokens, type TestUser } from "./support/flows.js";
import { createMailbox, type Mailbox } from "./support/mailbox.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * API.md §5, "proof of the mailbox or of the password ends everything older": a password reset or
 * change ends a pending email change and every unused reset link; a completed email change ends the
 * reset links sent to the address it replaced; a password change is notified by email.
 */

const CHANGE_SUBJECT = /^Confirm your new email for Gatehouse$/;
const RESET_SUBJECT = /^Reset your Gatehouse password$/;
const CHANGED_SUBJECT = /^Your Gatehouse password was changed$/;
const THIRD_PASSWORD = "Velvet-Compass-Thunder-Orchid-58";

const USER_FIELDS = "id email emailVerified pendingEmail";
const ME = `query { me { ${USER_FIELDS} } }`;
const VERIFY = `mutation ($token: String!) { verifyEmail(token: $token) { ${USER_FIELDS} } }`;
const REQUEST_RESET = `mutation ($email: String!) { requestPasswordReset(email: $email) }`;
const RESET = `mutation ($input: ResetPasswordInput!) { resetPassword(input: $input) }`;
const UPDATE_ME = `mutation ($input: UpdateMeInput!) { updateMe(input: $input) { ${USER_FIELDS} } }`;
const CHANGE_PASSWORD = `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken user { ${USER_FIELDS} } } }`;

interface UserView {
  id: string;
  email: string;
  emailVerified: boolean;
  pendingEmail: string | null;
}

const mailbox: Mailbox = createMailbox();
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ mailTransport: mailbox });
});
afterAll(async () => {
  await t?.close();
});

const me = async (tokens: AuthTokens): Promise<UserView> => {
  const res = await t.gql<{ me: UserView }>(ME, undefined, { token: tokens.accessToken });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.me;
};
const verify = (token: string): Promise<GqlResponse<{ verifyEmail: UserView }>> => t.gql<{ verifyEmail: UserView }>(VERIFY, { token });
const reset = (token: string, newPassword: string): Promise<GqlResponse<{ resetPassword: boolean }>> =>
  t.gql<{ resetPassword: boolean }>(RESET, { input: { token, newPassword } });

/** Parks an email change; the confirmation token sent to the new address. */
async function parkEmailChange(user: TestUser, email: string): Promise<string> {
  const res = await t.gql<{ updateMe: UserView }>(UPDATE_ME, { input: { email, currentPassword: user.password } }, { token: user.accessToken });
  expect(res.body.data?.updateMe.pendingEmail).toBe(email);
  return mailbox.tokenFrom(await mailbox.waitFor(email, CHANGE_SUBJECT), "verify-email");
}

/** Asks for a reset of `email`; the token of the reset email that arrives. */
async function resetLink(email: string): Promise<string> {
  const before = mailbox.sent.filter((m) => m.to === email && RESET_SUBJECT.test(m.subject)).length;
  const res = await t.gql<{ requestPasswordReset: boolean }>(REQUEST_RESET, { email });
  expect(res.body).toEqual({ data: { requestPasswordReset: true } });
  const deadline = Date.now() + 5000;
  for (;;) {
    const mails = mailbox.sent.filter((m) => m.to === email && RESET_SUBJECT.test(m.subject));
    if (mails.length > before) return mailbox.tokenFrom(mails[before]!, "reset-password");
    if (Date.now() > deadline) throw new Error(`no reset email to ${email}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const queuedTo = (to: string, template: string) =>
  t.deps.db.select().from(emailOutbox).where(and(eq(emailOutbox.toAddress, to), eq(emailOutbox.template, template)));

describe("a parked email change and a password reset (account takeover)", () => {
  it("the attack: a squatter's parked change to their own address cannot be confirmed after the owner recovers the account", async () => {
    const owner = uniqueEmail("owner");
    const attacker = uniqueEmail("attacker");

    // 1. The attacker registers the owner's address (it stays unverified) and parks a change to their own.
    const squat = await signUp(t, { email: owner, password: THIRD_PASSWORD, fullName: "Not The Owner" });
    const parked = await parkEmailChange(squat, attacker);

    // 2. The owner cannot register, so recovers "their" account through a reset link to their mailbox.
    const reg = await t.gql(REGISTER, { input: { email: owner, password: STRONG_PASSWORD, fullName: "Owner" } });
    expect(onlyError(reg).extensions.code).toBe("CONFLICT");
    expect((await reset(await resetLink(owner), OTHER_STRONG_PASSWORD)).body).toEqual({ data: { resetPassword: true } });
    const session = await logIn(t, owner, OTHER_STRONG_PASSWORD);
    expect(await me(session)).toMatchObject({ email: owner, emailVerified: true });

    // 3. The attacker confirms the parked change: refused, and the account keeps the owner's address...
    expectBadInput(await verify(parked), "token");
    expect(await me(session)).toEqual({ id: squat.id, email: owner, emailVerified: true, pendingEmail: null });

    // 4. ...so a reset asked for the attacker's address mails nothing, and the owner's password holds.
    await t.gql(REQUEST_RESET, { email: attacker });
    expect(await queuedTo(attacker, "reset-password")).toHaveLength(0);
    await logIn(t, owner, OTHER_STRONG_PASSWORD);

    expect(await auditDetails(t, { action: "user.email_change_cancelled", targetId: squat.id })).toEqual([
      { pendingEmail: attacker, reason: "password_reset" },
    ]);
    expect(await auditDetails(t, { action: "user.email_changed", targetId: squat.id })).toEqual([]);
  });
});

describe("resetPassword ends everything older", () => {
  it("kills a second unused reset link", async () => {
    const user = await signUp(t);
    const used = await resetLink(user.email);
    // Two live links at once: what two requests that raced on PostgreSQL leave (each deletes the
    // older links before the other has committed its own).
    const second = generateOpaqueToken();
    await t.deps.db.insert(emailTokens).values({
      tokenHash: hashToken(second),
      userId: user.id,
      kind: "RESET_PASSWORD",
      email: user.email,
      expiresAt: sql`now() + interval '1 hour'`,
    });

    expect((await reset(used, OTHER_STRONG_PASSWORD)).body).toEqual({ data: { resetPassword: true } });
    expectBadInput(await reset(second, THIRD_PASSWORD), "token");
    await logIn(t, user.email, OTHER_STRONG_PASSWORD);
  });
});

describe("changePassword ends everything older", () => {
  const changePassword = (user: TestUser, newPassword = OTHER_STRONG_PASSWORD) =>
    t.gql<{ changePassword: AuthTokens & { user: UserView } }>(
      CHANGE_PASSWORD,
      { input: { currentPassword: user.password, newPassword } },
      { token: user.accessToken },
    );

  it("cancels a pending email change: its link is refused on token and pendingEmail is null", async () => {
    const user = await signUp(t);
    const next = uniqueEmail("pending");
    const parked = await parkEmailChange(user, next);

    const res = await changePassword(user);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.changePassword.user.pendingEmail).toBeNull();
    const fresh = res.body.data!.changePassword;

    expectBadInput(await verify(parked), "token");
    expect(await me(fresh)).toEqual({ id: user.id, email: user.email, emailVerified: false, pendingEmail: null });
    expect(await auditDetails(t, { action: "user.email_change_cancelled", targetId: user.id })).toEqual([{ pendingEmail: next, reason: "password_changed" }]);
  });

  it("kills an unused reset link", async () => {
    const user = await signUp(t);
    const link = await resetLink(user.email);
    expect((await changePassword(user)).body.errors).toBeUndefined();
    expectBadInput(await reset(link, THIRD_PASSWORD), "token");
    await logIn(t, user.email, OTHER_STRONG_PASSWORD);
  });

  it("sends the 'password was changed' notice to the account's address, through the outbox", async () => {
    const user = await signUp(t);
    const wrong = await t.gql(
      CHANGE_PASSWORD,
      { input: { currentPassword: "not my password", newPassword: OTHER_STRONG_PASSWORD } },
      { token: user.accessToken },
    );
    expectBadInput(wrong, "currentPassword");
    expect(await queuedTo(user.email, "password-changed")).toHaveLength(0);

    expect((await changePassword(user)).body.errors).toBeUndefined();
    const notice = await mailbox.waitFor(user.email, CHANGED_SUBJECT);
    expect(notice.text).toContain("password of your Gatehouse account was just changed");
    expect(notice.text).not.toContain("token=");
    expect(await queuedTo(user.email, "password-changed")).toHaveLength(1);
  });
});

describe("a completed email change ends the old address's links", () => {
  it("refuses an unused reset link sent to the old address", async () => {
    const user = await signUp(t);
    const link = await resetLink(user.email);
    const next = uniqueEmail("moved");
    const confirm = await parkEmailChange(user, next);
    expect((await verify(confirm)).body.data?.verifyEmail).toMatchObject({ email: next, pendingEmail: null });

    expectBadInput(await reset(link, THIRD_PASSWORD), "token");
    await logIn(t, next, user.password);
  });
});
