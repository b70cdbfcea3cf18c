import { randomBytes } from "node:crypto";
import { DrizzleQueryError, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailTokens, refreshTokens, users } from "../src/db/schema.js";
import { safeError } from "../src/lib/safe-error.js";
import { LOGIN, REGISTER } from "./support/flows.js";
import { captureLogs } from "./support/logs.js";
import { createMailbox, type Mailbox } from "./support/mailbox.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/*
 * Every flow runs once with a logger at "trace" writing to an array; afterwards no log line may
 * contain any secret the flows used or stored: passwords, tokens, the Authorization header, hashes.
 */

const THIRD_PASSWORD = "Velvet-Compass-Thunder-Orchid-58";
const PAYLOAD = "accessToken refreshToken";
const ME = "query Me { me { id email } }";
const REFRESH = `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { ${PAYLOAD} } }`;
const CHANGE_PASSWORD = `mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) { ${PAYLOAD} } }`;
const REQUEST_RESET = "mutation RequestReset($email: String!) { requestPasswordReset(email: $email) }";
const RESET = "mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) }";
const UPDATE_ME = "mutation UpdateMe($input: UpdateMeInput!) { updateMe(input: $input) { email pendingEmail } }";
const VERIFY = "mutation Verify($token: String!) { verifyEmail(token: $token) { email emailVerified } }";
const LOGOUT = "mutation Logout($t: String!) { logout(refreshToken: $t) }";

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

const codeOf = (res: GqlResponse): string => res.body.errors?.[0]?.extensions.code ?? "OK";

describe("no secret reaches the logs", () => {
  const log = captureLogs("trace");
  const mailbox: Mailbox = createMailbox();
  let t: TestServer;
  /** label -> value; labels make a failure say which secret leaked. */
  const secrets = new Map<string, string>();
  const keep = (label: string, value: string | undefined): string => {
    expect(value, label).toBeTruthy();
    secrets.set(label, value!);
    return value!;
  };

  beforeAll(async () => {
    t = await startTestServer({ logger: log.logger, mailTransport: mailbox, env: { RATE_LIMITS: "on" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Asserts success and returns the data. */
  async function ok<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    const res = await t.gql<T>(query, variables, token ? { token } : {});
    expect(res.body.errors, query).toBeUndefined();
    return res.body.data as T;
  }

  it("runs every flow, then finds none of their secrets in any log line", async () => {
    const email = uniqueEmail("secrets");
    const newEmail = uniqueEmail("secrets.new");
    keep("password (registration)", STRONG_PASSWORD);
    keep("password (changed)", OTHER_STRONG_PASSWORD);
    keep("password (reset)", THIRD_PASSWORD);

    // register + the verification link it mails
    await ok(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Secret Keeper" } });
    const verifyToken = keep("verification token", mailbox.tokenFrom(await mailbox.waitFor(email, /Confirm your email/), "verify-email"));
    expect((await ok<{ verifyEmail: { emailVerified: boolean } }>(VERIFY, { token: verifyToken })).verifyEmail.emailVerified).toBe(true);

    // login: a wrong password first, then the right one
    const wrong = keep("password (wrong guess)", "Not-My-Password-Guess-4711");
    expect(codeOf(await t.gql(LOGIN, { input: { email, password: wrong } }))).toBe("UNAUTHENTICATED");
    const first = (await ok<{ login: Tokens }>(LOGIN, { input: { email, password: STRONG_PASSWORD } })).login;
    keep("access token (login)", first.accessToken);
    keep("refresh token (login)", first.refreshToken);
    keep("Authorization header", `Bearer ${first.accessToken}`);

    // me with the header, and with a forged one
    expect((await ok<{ me: { email: string } }>(ME, {}, first.accessToken)).me.email).toBe(email);
    const forged = keep("forged bearer token", `${first.accessToken.slice(0, -6)}${randomBytes(4).toString("hex").slice(0, 6)}`);
    expect(codeOf(await t.gql(ME, {}, { token: forged }))).toBe("UNAUTHENTICATED");

    // refresh rotation, then replay of the spent refresh token (revokes the family)
    const second = (await ok<{ refreshToken: Tokens }>(REFRESH, { t: first.refreshToken })).refreshToken;
    keep("access token (refresh)", second.accessToken);
    keep("refresh token (refresh)", second.refreshToken);
    // A repeat within REFRESH_REUSE_INTERVAL gets a pair of its own (two tabs at once) ...
    const twin = (await ok<{ refreshToken: Tokens }>(REFRESH, { t: first.refreshToken })).refreshToken;
    keep("access token (refresh repeat)", twin.accessToken);
    keep("refresh token (refresh repeat)", twin.refreshToken);
    // ... but once its successor has been used, a replay revokes the family.
    const third = (await ok<{ refreshToken: Tokens }>(REFRESH, { t: second.refreshToken })).refreshToken;
    keep("refresh token (second rotation)", third.refreshToken);
    expect(codeOf(await t.gql(REFRESH, { t: first.refreshToken }))).toBe("UNAUTHENTICATED");

    // changePassword (a fresh login first: the replay above ended that session family)
    const relog = (await ok<{ login: Tokens }>(LOGIN, { input: { email, password: STRONG_PASSWORD } })).login;
    keep("access token (relogin)", relog.accessToken);
    keep("refresh token (relogin)", relog.refreshToken);
    const changed = (
      await ok<{ changePassword: Tokens }>(
        CHANGE_PASSWORD,
        { input: { currentPassword: STRONG_PASSWORD, newPassword: OTHER_STRONG_PASSWORD } },
        relog.accessToken,
      )
    ).changePassword;
    keep("access token (changePassword)", changed.accessToken);
    keep("refresh token (changePassword)", changed.refreshToken);

    // password reset through the mailed link
    await ok(REQUEST_RESET, { email });
    const resetToken = keep("reset token", mailbox.tokenFrom(await mailbox.waitFor(email, /Reset your/), "reset-password"));
    expect((await ok<{ resetPassword: boolean }>(RESET, { input: { token: resetToken, newPassword: THIRD_PASSWORD } })).resetPassword).toBe(true);
    const afterReset = (await ok<{ login: Tokens }>(LOGIN, { input: { email, password: THIRD_PASSWORD } })).login;
    keep("access token (after reset)", afterReset.accessToken);
    keep("refresh token (after reset)", afterReset.refreshToken);

    // email change + its confirmation
    const emailChange = await ok<{ updateMe: { pendingEmail: string } }>(
      UPDATE_ME,
      { input: { email: newEmail, currentPassword: THIRD_PASSWORD } },
      afterReset.accessToken,
    );
    expect(emailChange.updateMe.pendingEmail).toBe(newEmail);
    const changeToken = keep("email-change token", mailbox.tokenFrom(await mailbox.waitFor(newEmail, /Confirm your new email/), "verify-email"));
    expect((await ok<{ verifyEmail: { email: string } }>(VERIFY, { token: changeToken })).verifyEmail.email).toBe(newEmail);

    // a request error whose variables hold a password, then logout
    const misTyped = await t.gql(LOGIN, { input: { email: newEmail, password: THIRD_PASSWORD, remember: true } });
    expect(codeOf(misTyped)).toBe("BAD_USER_INPUT");
    expect(await ok<{ logout: boolean }>(LOGOUT, { t: afterReset.refreshToken })).toEqual({ logout: true });

    // an unexpected internal error: the driver error carries SQL and parameters (the password hash)
    await t.deps.db.execute(sql`alter table audit_events rename to audit_events_gone`);
    try {
      const broken = await t.gql(LOGIN, { input: { email: newEmail, password: THIRD_PASSWORD } }, { headers: { "x-request-id": "secrets-broken-1" } });
      expect(codeOf(broken)).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      await t.deps.db.execute(sql`alter table audit_events_gone rename to audit_events`);
    }

    // another one whose failing statement carries a fresh argon2 hash among its parameters
    await t.deps.db.execute(sql`alter table users add constraint secrets_block check (email not like 'blocked.%')`);
    try {
      const blocked = uniqueEmail("blocked");
      const refused = await t.gql(
        REGISTER,
        { input: { email: blocked, password: THIRD_PASSWORD, fullName: "Blocked" } },
        { headers: { "x-request-id": "secrets-broken-2" } },
      );
      expect(codeOf(refused)).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      await t.deps.db.execute(sql`alter table users drop constraint secrets_block`);
    }

    // a rate-limited call: login is 10 per 15 min per address and email
    const target = uniqueEmail("limited");
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) {
      const guess = keep(`password (guess ${i})`, `Guess-${i}-${randomBytes(6).toString("hex")}`);
      codes.push(codeOf(await t.gql(LOGIN, { input: { email: target, password: guess } })));
    }
    expect(codes).toEqual([...Array.from({ length: 10 }, () => "UNAUTHENTICATED"), "RATE_LIMITED"]);

    // what the database stores: argon2 hashes, and the hashes of refresh and email tokens
    for (const row of await t.deps.db.select({ hash: users.passwordHash }).from(users)) {
      const hash = row.hash!;
      expect(hash).toMatch(/^\$argon2id\$/);
      keep(`argon2 hash ${hash.slice(-8)}`, hash);
      keep(`argon2 digest ${hash.slice(-8)}`, hash.split("$").pop());
    }
    for (const row of await t.deps.db.select({ hash: refreshTokens.tokenHash }).from(refreshTokens)) keep(`refresh hash ${row.hash.slice(0, 8)}`, row.hash);
    for (const row of await t.deps.db.select({ hash: emailTokens.tokenHash }).from(emailTokens)) keep(`email-token hash ${row.hash.slice(0, 8)}`, row.hash);

    const all = log.lines.join("\n");
    const leaked = [...secrets].filter(([, value]) => all.includes(value)).map(([label]) => label);
    expect(leaked).toEqual([]);
    // Secrets nobody kept (the hash in the failed insert) still have recognisable shapes.
    expect(all).not.toMatch(/\$argon2|insert into|select .* from|"params"|"parameters"|"detail"/i);
    // The capture works and covered the failure paths: the internal error was logged (without SQL).
    const logged = (requestId: string, sqlstate: string): boolean =>
      log.lines.some((l) => l.includes(requestId) && l.includes(`"sqlstate":"${sqlstate}"`) && l.includes("unexpected error"));
    expect(logged("secrets-broken-1", "42P01")).toBe(true);
    expect(logged("secrets-broken-2", "23514")).toBe(true);
    expect(secrets.size).toBeGreaterThan(30);
  });
});

describe("safeError", () => {
  const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0";
  const EMAIL = "victim@example.com";

  /** A postgres.js-like error as drizzle wraps it: message, detail, query and parameters all hold data. */
  function driverError(): DrizzleQueryError {
    const pg = Object.assign(new Error(`duplicate key value violates unique constraint "users_email_key"`), {
      name: "PostgresError",
      severity: "ERROR",
      code: "23505",
      detail: `Key (email)=(${EMAIL}) already exists.`,
      constraint_name: "users_email_key",
      query: `insert into "users" ("email", "password_hash") values ($1, $2)`,
      parameters: [EMAIL, HASH],
    });
    return new DrizzleQueryError(`insert into "users" ("email", "password_hash") values ($1, $2)`, [EMAIL, HASH], pg);
  }

  it("keeps the SQLSTATE and constraint of a driver error, and none of its message, detail, SQL or parameters", () => {
    const err = driverError();
    expect(err.message).toContain(HASH); // the premise: drizzle's message embeds the parameters
    const safe = safeError(err);
    expect(safe).toMatchObject({ driver: true, sqlstate: "23505", constraint: "users_email_key" });
    expect(Object.keys(safe).sort()).toEqual(["constraint", "driver", "errno", "sqlstate", "type"]);
    const text = JSON.stringify(safe);
    for (const secret of [HASH, "ZGlnZXN0", EMAIL, "insert into", "password_hash", "already exists", "duplicate key", "$1"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("treats a bare PGlite/postgres error (code only, no wrapper) as a driver error too", () => {
    const pg = Object.assign(new Error(`relation "audit_events" does not exist`), { code: "42P01", detail: `secret ${HASH}` });
    const safe = safeError(pg);
    expect(safe).toMatchObject({ driver: true, sqlstate: "42P01" });
    expect(JSON.stringify(safe)).not.toMatch(/audit_events|argon2|secret/);
  });

  it("keeps message and stack of an ordinary error, and only the type of a non-error", () => {
    const safe = safeError(new TypeError("x is not a function"));
    expect(safe).toMatchObject({ type: "TypeError", message: "x is not a function" });
    expect(String(safe["stack"])).toMatch(/TypeError: x is not a function/);
    expect(safeError("a string")).toEqual({ type: "string" });
  });
});
