import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
} from "graphql";
import { getDirective } from "@graphql-tools/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions, users } from "../src/db/schema.js";
import { accessRuleOf } from "../src/graphql/access.js";
import { buildGatehouseSchema } from "../src/graphql/schema.js";
import { emailFlowCalls, RESET_SUBJECT } from "./support/email-flows.js";
import { expectUnauthenticated } from "./support/flows.js";
import { createMailbox } from "./support/mailbox.js";
import { codeAt, createTestClock, expectForbidden, mfaCalls, ok, type TestClock } from "./support/mfa.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, type TestServer } from "./support/server.js";
import { LOGOUT, LOGOUT_ALL, REFRESH, sessionCalls, sessionIdOf } from "./support/sessions.js";

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
const { me, expectMeWorks } = sessionCalls(() => t);
const flows = emailFlowCalls(() => t, mailbox);

/** A value of `type` that passes GraphQL's own validation, so only the resolver layer can refuse it. */
function sampleValue(type: GraphQLInputType): unknown {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return [sampleValue(inner.ofType)];
  if (isEnumType(inner)) return inner.getValues()[0]!.value;
  if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return Object.fromEntries(fields.map((f) => [f.name, sampleValue(f.type)]));
  }
  const scalars: Record<string, unknown> = { ID: randomUUID(), Int: 1, Float: 1, Boolean: true, DateTimeISO: "2026-01-01T00:00:00.000Z" };
  return scalars[getNamedType(inner).name] ?? "x";
}

/** Every @auth root field as one operation with its required arguments as variables. */
function authFieldOperations(schema: GraphQLSchema): Array<{ name: string; query: string; variables: Record<string, unknown>; pendingOk: boolean }> {
  const out = [];
  for (const [kind, root] of [["query", schema.getQueryType()], ["mutation", schema.getMutationType()]] as const) {
    for (const field of Object.values(root!.getFields())) {
      const config = root!.toConfig().fields[field.name]!;
      if (accessRuleOf(schema, config).kind !== "auth") continue;
      const args = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
      const decl = args.length ? `(${args.map((a) => `$${a.name}: ${a.type.toString()}`).join(", ")})` : "";
      const pass = args.length ? `(${args.map((a) => `${a.name}: $${a.name}`).join(", ")})` : "";
      const selection = isObjectType(getNamedType(field.type)) ? " { __typename }" : "";
      out.push({
        name: field.name,
        query: `${kind} Walk${decl} { ${field.name}${pass}${selection} }`,
        variables: Object.fromEntries(args.map((a) => [a.name, sampleValue(a.type)])),
        pendingOk: getDirective(schema, config, "allowPendingMfa")?.[0] !== undefined,
      });
    }
  }
  return out;
}

describe("a pending session (first factor only)", () => {
  it("comes from a password login of a TOTP user, lapses 5 minutes after it opened, and records how it was authenticated", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    const [row] = await t.deps.db
      .select({ amr: sessions.amr, window: sql<number>`extract(epoch from ${sessions.mfaPendingUntil} - ${sessions.createdAt})::int` })
      .from(sessions)
      .where(eq(sessions.id, sessionIdOf(pending.accessToken)));
    expect(row).toEqual({ amr: ["pwd"], window: 300 });
    await expectMeWorks(pending.accessToken, account.id);
    // Five minutes on (moved in the database, which owns the expiry): the session is dead.
    await t.deps.db.update(sessions).set({ mfaPendingUntil: sql`now() - interval '1 second'` }).where(eq(sessions.id, sessionIdOf(pending.accessToken)));
    expectUnauthenticated(await me(pending.accessToken));
    clock.nextStep();
    expectUnauthenticated(await calls.verify(pending.accessToken, codeAt(account.secret, clock)));
  });

  it("is refused every @auth root field but me, verifyMfa and logoutAll with FORBIDDEN MFA_REQUIRED (walks the schema)", async () => {
    const schema = await buildGatehouseSchema();
    const ops = authFieldOperations(schema);
    expect(ops.length).toBeGreaterThan(15);
    expect(ops.filter((o) => o.pendingOk).map((o) => o.name).sort()).toEqual(["logoutAll", "me", "verifyMfa"]);
    // An admin's pending session: admin fields must say MFA_REQUIRED too, not pass on the role.
    const account = await calls.mfaAccount("walk");
    await t.deps.db.update(users).set({ role: "ADMIN" }).where(eq(users.id, account.id));
    const pending = await calls.pendingLogin(account);
    for (const op of ops.filter((o) => !o.pendingOk)) {
      const res = await t.gql(op.query, op.variables, { token: pending.accessToken });
      expect({ field: op.name, error: res.body.errors?.[0]?.extensions }).toMatchObject({
        field: op.name,
        error: { code: "FORBIDDEN", reason: "MFA_REQUIRED" },
      });
    }
    // Nothing it tried took effect, and the session still works for what it may call.
    await expectMeWorks(pending.accessToken, account.id);
  });

  it("cannot be refreshed (FORBIDDEN MFA_REQUIRED), and its refresh token still logs it out", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    expectForbidden(await t.gql(REFRESH, { refreshToken: pending.refreshToken }), "MFA_REQUIRED");
    expect(ok(await t.gql<{ logout: boolean }>(LOGOUT, { refreshToken: pending.refreshToken })).logout).toBe(true);
    expectUnauthenticated(await me(pending.accessToken));
  });

  it("may call logoutAll", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    expect(ok(await t.gql<{ logoutAll: boolean }>(LOGOUT_ALL, {}, { token: pending.accessToken })).logoutAll).toBe(true);
    expectUnauthenticated(await me(pending.accessToken));
    expectUnauthenticated(await me(account.session.accessToken));
  });
});

describe("verifyMfa", () => {
  it("completes the session with a fresh pair: the pending refresh token is spent, the new one refreshes", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    clock.nextStep();
    const done = ok(await calls.verify(pending.accessToken, codeAt(account.secret, clock))).verifyMfa;
    expect(done.mfaRequired).toBe(false);
    expect(done.user).toEqual({ id: account.id, mfa: { totpEnabled: true, recoveryCodesLeft: 10 } });
    expect(sessionIdOf(done.accessToken)).toBe(sessionIdOf(pending.accessToken));
    expect(done.refreshToken).not.toBe(pending.refreshToken);
    const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(done.accessToken)));
    expect(row).toMatchObject({ amr: ["pwd", "otp"], mfaPendingUntil: null, mfaVerifiedAt: expect.any(Date) });
    // The complete session reaches the rest of the API.
    const sessionsRes = await t.gql<{ mySessions: unknown[] }>(`query { mySessions { id } }`, {}, { token: done.accessToken });
    expect(sessionsRes.body.errors).toBeUndefined();
    const refreshed = ok(await t.gql<{ refreshToken: { accessToken: string } }>(REFRESH, { refreshToken: done.refreshToken }));
    expect(refreshed.refreshToken.accessToken).toBeTruthy();
    // The pending refresh token was spent by verifyMfa: presenting it is reuse.
    expectUnauthenticated(await t.gql(REFRESH, { refreshToken: pending.refreshToken }));
  });

  it("refuses a wrong code with BAD_USER_INPUT on code and leaves the session pending", async () => {
    const account = await calls.mfaAccount();
    const pending = await calls.pendingLogin(account);
    clock.nextStep();
    const wrong = codeAt(account.secret, clock) === "000000" ? "000001" : "000000";
    for (const code of [wrong, "", "not a code", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "x".repeat(10_000)]) {
      const res = await calls.verify(pending.accessToken, code);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "code" }] });
    }
    expectForbidden(await t.gql(`query { mySessions { id } }`, {}, { token: pending.accessToken }), "MFA_REQUIRED");
  });
});

const CHANGE_PASSWORD = /* GraphQL */ `
  mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken mfaRequired } }
`;

describe("a password reset or change never skips the second factor", () => {
  it("after a reset every session ends, the next login is pending again, and TOTP stays on", async () => {
    const account = await calls.mfaAccount();
    await flows.requestReset(account.email);
    const token = mailbox.tokenFrom(await mailbox.waitFor(account.email, RESET_SUBJECT), "reset-password");
    expect(ok(await flows.reset(token, OTHER_STRONG_PASSWORD)).resetPassword).toBe(true);
    expectUnauthenticated(await me(account.session.accessToken));
    const login = ok(await calls.login(account.email, OTHER_STRONG_PASSWORD)).login;
    expect(login.mfaRequired).toBe(true);
    expectForbidden(await t.gql(`query { mySessions { id } }`, {}, { token: login.accessToken }), "MFA_REQUIRED");
    clock.nextStep();
    expect(ok(await calls.verify(login.accessToken, codeAt(account.secret, clock))).verifyMfa.user.mfa.totpEnabled).toBe(true);
  });

  it("changePassword's new session keeps the caller's second factor (not pending, amr carried)", async () => {
    const account = await calls.mfaAccount();
    const full = await calls.fullLogin(account);
    const res = await t.gql<{ changePassword: { accessToken: string; mfaRequired: boolean } }>(CHANGE_PASSWORD, {
      input: { currentPassword: STRONG_PASSWORD, newPassword: OTHER_STRONG_PASSWORD },
    }, { token: full.accessToken });
    const changed = ok(res).changePassword;
    expect(changed.mfaRequired).toBe(false);
    const [row] = await t.deps.db.select().from(sessions).where(eq(sessions.id, sessionIdOf(changed.accessToken)));
    expect(row).toMatchObject({ amr: ["pwd", "otp"], mfaPendingUntil: null, mfaVerifiedAt: expect.any(Date) });
    // And a login with the new password is still a pending one.
    expect(ok(await calls.login(account.email, OTHER_STRONG_PASSWORD)).login.mfaRequired).toBe(true);
  });
});
