import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailOutbox, emailTokens, users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { REGISTER, expectBadInput, onlyError, signUp, type TestUser } from "./support/flows.js";
import { createMailbox, type Mailbox } from "./support/mailbox.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/* API.md §5: an email change needs the current password and is limited per user; names are well-formed
 * text without bidi or invisible characters; a lone surrogate anywhere is BAD_USER_INPUT, never a 500;
 * mail to an address not confirmed greets no one by name. */

const UPDATE_ME = `mutation ($input: UpdateMeInput!) { updateMe(input: $input) { id email fullName pendingEmail } }`;
const UPDATE_USER = `mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id fullName } }`;
const VERIFY = `mutation ($token: String!) { verifyEmail(token: $token) { id email } }`;
type UpdateMe = GqlResponse<{ updateMe: { id: string; email: string; fullName: string; pendingEmail: string | null } }>;

const mailbox: Mailbox = createMailbox();
let t: TestServer;
/** The same database with the default rate limits on. */
let limited: TestServer;
beforeAll(async () => {
  t = await startTestServer({ mailTransport: mailbox });
  // Its outbox worker stays off: mail goes through `t`'s, into the mailbox.
  limited = await startTestServer({ testDb: t.testDb, env: { RATE_LIMITS: "on" }, outboxWorker: false });
});
afterAll(async () => {
  await limited?.close();
  await t?.close();
});

const updateMe = (user: TestUser, input: Record<string, unknown>, server = t): Promise<UpdateMe> =>
  server.gql(UPDATE_ME, { input }, { token: user.accessToken });

/** Everything an email change records: the user row, tokens, outbox rows and audit rows. */
async function recorded(user: TestUser, newEmail: string) {
  const [row] = await t.deps.db.select().from(users).where(eq(users.id, user.id));
  const tokens = await t.deps.db.select().from(emailTokens).where(and(eq(emailTokens.userId, user.id), eq(emailTokens.kind, "CHANGE_EMAIL")));
  const outbox = await t.deps.db.select().from(emailOutbox).where(inArray(emailOutbox.toAddress, [newEmail, user.email]));
  const audits = await auditRows(t, { targetId: user.id, action: ["user.email_change_requested", "user.profile_updated"] });
  return {
    pendingEmail: row!.pendingEmail,
    fullName: row!.fullName,
    tokens: tokens.length,
    outbox: outbox.filter((m) => m.template !== "verify-email").length,
    audits: audits.length,
  };
}

describe("email change needs the current password", () => {
  it("a stolen access token alone cannot change the email: missing or wrong currentPassword is BAD_USER_INPUT and records nothing", async () => {
    const user = await signUp(t, { fullName: "Victim Name" });
    const attacker = uniqueEmail("attacker");
    expectBadInput(await updateMe(user, { email: attacker }), "currentPassword");
    expectBadInput(await updateMe(user, { email: attacker, currentPassword: null }), "currentPassword");
    expectBadInput(await updateMe(user, { email: attacker, currentPassword: "" }), "currentPassword");
    expectBadInput(await updateMe(user, { email: attacker, currentPassword: "not the password" }), "currentPassword");
    // The name in the same call does not go through either.
    expectBadInput(await updateMe(user, { email: attacker, fullName: "Attacker", currentPassword: "guess" }), "currentPassword");
    expect(await recorded(user, attacker)).toEqual({ pendingEmail: null, fullName: "Victim Name", tokens: 0, outbox: 0, audits: 0 });
  });

  it("with the password it starts; a name-only change and cancelling need no password; the notice says how to undo", async () => {
    const user = await signUp(t);
    expect((await updateMe(user, { fullName: "Renamed Without Password" })).body.data?.updateMe.fullName).toBe("Renamed Without Password");
    const next = uniqueEmail("next");
    expect((await updateMe(user, { email: next, currentPassword: user.password })).body.data?.updateMe.pendingEmail).toBe(next);
    const notice = await mailbox.waitFor(user.email, /email address is being changed/);
    expect(notice.text).toMatch(/only|unless/);
    expect(notice.text).toContain(`set your email to this address (${user.email}) again, which cancels the change`);
    expect(notice.text).toMatch(/change your password/);
    const token = mailbox.tokenFrom(await mailbox.waitFor(next, /Confirm your new email/), "verify-email");

    // Cancelling only undoes: it is how the owner reverts a change someone else asked for.
    expect((await updateMe(user, { email: user.email })).body.data?.updateMe).toMatchObject({ email: user.email, pendingEmail: null });
    expectBadInput(await t.gql(VERIFY, { token }), "token");
  });
});

describe("email changes: 5 per hour per user (API.md §5)", () => {
  it("the 6th is RATE_LIMITED even with the right password; wrong passwords count; names and cancels are not limited", async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await updateMe(user, { email: uniqueEmail(`try${i}`), currentPassword: i < 3 ? `guess number ${i}` : user.password }, limited);
      outcomes.push(res.body.errors?.[0]?.extensions.code ?? "OK");
    }
    expect(outcomes).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "OK", "OK"]);
    const sixth = uniqueEmail("sixth");
    const refused = onlyError(await updateMe(user, { email: sixth, currentPassword: user.password }, limited));
    expect(refused.extensions).toMatchObject({ code: "RATE_LIMITED", limit: 5, window: 3600 });
    expect((await recorded(user, sixth)).pendingEmail).not.toBe(sixth);

    expect((await updateMe(user, { fullName: "Still Renamable" }, limited)).body.errors).toBeUndefined();
    expect((await updateMe(user, { email: user.email }, limited)).body.data?.updateMe.pendingEmail).toBeNull();
    expect((await updateMe(other, { email: uniqueEmail("other"), currentPassword: other.password }, limited)).body.errors).toBeUndefined();
  });

  it("every alias counts: of 6 aliased changes in one request, 5 run and the 6th is RATE_LIMITED", async () => {
    const user = await signUp(t);
    const fields = Array.from({ length: 6 }, (_, i) => `a${i}: updateMe(input: { email: $e${i}, currentPassword: $p }) { pendingEmail }`).join("\n");
    const vars = Array.from({ length: 6 }, (_, i) => `$e${i}: String!`).join(", ");
    const emails = Array.from({ length: 6 }, (_, i) => uniqueEmail(`alias${i}`));
    const res = await limited.gql(
      `mutation (${vars}, $p: String) { ${fields} }`,
      { ...Object.fromEntries(emails.map((e, i) => [`e${i}`, e])), p: user.password },
      { token: user.accessToken },
    );
    // Mutation fields run in order; the 6th fails, and with it the (non-null) data.
    expect(onlyError(res)).toMatchObject({ path: ["a5"], extensions: { code: "RATE_LIMITED" } });
    expect((await recorded(user, emails[4]!)).pendingEmail).toBe(emails[4]);
    expect(onlyError(await updateMe(user, { email: uniqueEmail("after"), currentPassword: user.password }, limited)).extensions.code).toBe("RATE_LIMITED");
  });
});

describe("names and well-formed text", () => {
  const BAD_NAMES: Array<[string, string]> = [
    ["a lone high surrogate", "Ada\ud800"],
    ["a lone low surrogate", "\udc00Ada"],
    ["a right-to-left override", "Bob\u202enimda"],
    ["a bidi isolate", "Ada\u2066Lovelace"],
    ["a zero-width space", "Ada\u200bLovelace"],
    ["a zero-width joiner", "Ada\u200dLovelace"],
    ["a word joiner", "Ada\u2060Lovelace"],
    ["a byte-order mark", "\ufeffAda"],
  ];

  it.each(BAD_NAMES)("register, updateMe and admin updateUser refuse a name with %s on fullName", async (_label, fullName) => {
    const email = uniqueEmail("badname");
    expectBadInput(await t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName } }), "fullName");
    expect(await t.deps.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    const user = await signUp(t, { fullName: "Plain Name" });
    expectBadInput(await updateMe(user, { fullName }), "fullName");
    const admin = await signUp(t, { role: "ADMIN" });
    expectBadInput(await t.gql(UPDATE_USER, { id: user.id, input: { fullName } }, { token: admin.accessToken }), "fullName");
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.fullName).toBe("Plain Name");
  });

  it("keeps names that are merely non-Latin: emoji (surrogate pairs), accents, scripts", async () => {
    const user = await signUp(t);
    for (const fullName of ["Zoë Ødegård", "山田 太郎", "Ada 👩‍💻 Lovelace".replace("\u200d", ""), "محمد"]) {
      expect((await updateMe(user, { fullName })).body.data?.updateMe.fullName).toBe(fullName);
    }
  });

  it("a lone surrogate in any other argument is BAD_USER_INPUT on that field, never a 500", async () => {
    const user = await signUp(t);
    const admin = await signUp(t, { role: "ADMIN" });
    const bad = "x\ud800";
    const cases: Array<[string, Record<string, unknown>, string, string | undefined]> = [
      [REGISTER, { input: { email: uniqueEmail(), password: `${STRONG_PASSWORD}${bad}`, fullName: "Ok" } }, "password", undefined],
      [`mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { email: user.email, password: bad } }, "password", undefined],
      [`mutation ($e: String!) { requestPasswordReset(email: $e) }`, { e: `${bad}@example.com` }, "email", undefined],
      [VERIFY, { token: bad }, "token", undefined],
      [`mutation ($input: ResetPasswordInput!) { resetPassword(input: $input) }`, { input: { token: bad, newPassword: STRONG_PASSWORD } }, "token", undefined],
      [UPDATE_ME, { input: { email: `${bad}@example.com`, currentPassword: user.password } }, "email", user.accessToken],
      [UPDATE_ME, { input: { email: uniqueEmail(), currentPassword: bad } }, "currentPassword", user.accessToken],
      [
        `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`,
        { input: { currentPassword: user.password, newPassword: `Lighthouse-${bad}-Marmalade-Quartz` } },
        "newPassword",
        user.accessToken,
      ],
      [`query ($f: AuditFilter) { auditLog(filter: $f) { total } }`, { f: { action: bad } }, "action", admin.accessToken],
    ];
    for (const [query, variables, field, token] of cases) {
      const res = await t.gql(query, variables, token ? { token } : {});
      expect(res.body.errors?.[0]?.extensions.code, `${query} ${JSON.stringify(variables)}`).toBe("BAD_USER_INPUT");
      expectBadInput(res, field);
    }
    // The search box refuses nothing a person could type; it must not fail on this either.
    const search = await t.gql(`query ($f: UserFilter) { users(filter: $f) { total } }`, { f: { query: bad } }, { token: admin.accessToken });
    expect(search.body.errors?.[0]?.extensions.code ?? "OK").not.toBe("INTERNAL_SERVER_ERROR");
  });
});

describe("mail to an address not confirmed greets no one by name", () => {
  it("registration, the new address of a change, and an unverified account's notices say only Hello,", async () => {
    const name = "Mallory Evil-Link";
    const user = await signUp(t, { fullName: name });
    const verification = await mailbox.waitFor(user.email, /Confirm your email/);
    expect(verification.text.startsWith("Hello,\n")).toBe(true);
    expect(verification.text + verification.html).not.toContain("Mallory");

    const next = uniqueEmail("greet");
    expect((await updateMe(user, { email: next, currentPassword: user.password })).body.errors).toBeUndefined();
    const confirmation = await mailbox.waitFor(next, /Confirm your new email/);
    expect(confirmation.text.startsWith("Hello,\n")).toBe(true);
    expect(confirmation.text + confirmation.html).not.toContain("Mallory");
    // The old address was never confirmed either.
    const notice = await mailbox.waitFor(user.email, /being changed/);
    expect(notice.text + notice.html).not.toContain("Mallory");

    expect((await t.gql(`mutation ($e: String!) { requestPasswordReset(email: $e) }`, { e: user.email })).body.errors).toBeUndefined();
    const reset = await mailbox.waitFor(user.email, /Reset your/);
    expect(reset.text + reset.html).not.toContain("Mallory");
  });

  it("once the address is confirmed, mail to it greets the account's name", async () => {
    const user = await signUp(t, { fullName: "Grace Hopper" });
    const token = mailbox.tokenFrom(await mailbox.waitFor(user.email, /Confirm your email/), "verify-email");
    expect((await t.gql(VERIFY, { token })).body.errors).toBeUndefined();
    expect((await updateMe(user, { email: uniqueEmail("named"), currentPassword: user.password })).body.errors).toBeUndefined();
    expect((await mailbox.waitFor(user.email, /being changed/)).text.startsWith("Hello Grace Hopper,\n")).toBe(true);
  });
});
