import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { emailOutbox } from "../../src/db/schema.js";
import { LOGIN, REGISTER, onlyError, type AuthTokens } from "./flows.js";
import { STRONG_PASSWORD, uniqueEmail, type GqlOptions, type GqlResponse, type TestServer } from "./server.js";

/* The operations, client addresses and helpers of the rate-limit tests over HTTP. */

export const RESET = /* GraphQL */ `mutation Reset($email: String!) { requestPasswordReset(email: $email) }`;
export const RESET_X4 = /* GraphQL */ `
  mutation Reset4($email: String!) {
    a: requestPasswordReset(email: $email)
    b: requestPasswordReset(email: $email)
    c: requestPasswordReset(email: $email)
    d: requestPasswordReset(email: $email)
  }
`;
export const REFRESH = /* GraphQL */ `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`;
export const CHANGE_PASSWORD = /* GraphQL */ `
  mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }
`;
export const RESEND = /* GraphQL */ `mutation Resend { resendVerificationEmail }`;
export const MY_SESSIONS = /* GraphQL */ `query Sessions { mySessions { ip current } }`;
export const THIRD_PASSWORD = "Quixotic-Walrus-Harbour-2047";

export const BLOCKS = ["203.0.113", "198.51.100", "192.0.2"];
let addresses = 0;
/** A client address no other test uses (documentation ranges). */
export function freshIp(): string {
  const n = addresses++;
  return `${BLOCKS[Math.floor(n / 254)]!}.${(n % 254) + 1}`;
}

/** Request options that come from `ip` (the right-most X-Forwarded-For entry), with a token if given. */
export const from = (ip: string, token?: string): GqlOptions => ({ headers: { "x-forwarded-for": ip }, ...(token ? { token } : {}) });

/** "OK", or the code of the single error. */
export function outcome(res: GqlResponse<unknown>): string {
  const errors = res.body.errors ?? [];
  if (errors.length === 0) return res.body.data ? "OK" : "NO_DATA";
  return errors.length === 1 ? errors[0]!.extensions.code : `ERRORS:${errors.map((e) => e.extensions.code).join(",")}`;
}

/** How many times each outcome occurs. */
export const tally = (outcomes: string[]): Record<string, number> =>
  outcomes.reduce<Record<string, number>>((counts, o) => ({ ...counts, [o]: (counts[o] ?? 0) + 1 }), {});

/** Asserts the RATE_LIMITED shape of API.md §3 and returns retryAfter. */
export function expectRateLimited(res: GqlResponse<unknown>, limit: number, window: number): number {
  const error = onlyError(res);
  expect(error.extensions).toMatchObject({ code: "RATE_LIMITED", limit, window });
  const retryAfter = error.extensions["retryAfter"] as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(window);
  const timestamp = error.extensions["timestamp"] as string;
  expect(new Date(timestamp).toISOString()).toBe(timestamp);
  return retryAfter;
}

/** Registers `email` (a fresh one by default) from `ip`. */
export function register(t: TestServer, ip: string, email: string = uniqueEmail("rl")): Promise<GqlResponse<{ register: { id: string } }>> {
  return t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Rate Limit" } }, from(ip));
}

/** Logs in from `ip`. */
export function login(t: TestServer, ip: string, email: string, password: string): Promise<GqlResponse<{ login: AuthTokens }>> {
  return t.gql(LOGIN, { input: { email, password } }, from(ip));
}

export type Account = { id: string; email: string };

/** Registers from an address of its own (no login, so no login slot is spent). */
export async function createAccount(t: TestServer): Promise<Account> {
  const email = uniqueEmail("rl");
  const res = await register(t, freshIp(), email);
  if (!res.body.data?.register) throw new Error(`register failed: ${JSON.stringify(res.body.errors)}`);
  return { id: res.body.data.register.id, email };
}

/** Registers and logs in, each from an address of its own. */
export async function signUp(t: TestServer): Promise<Account & AuthTokens> {
  const account = await createAccount(t);
  const res = await login(t, freshIp(), account.email, STRONG_PASSWORD);
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return { ...account, ...res.body.data.login };
}

/** How many emails of `template` to `to` are in the outbox. */
export async function outboxCount(t: TestServer, template: string, to: string): Promise<number> {
  const rows = await t.deps.db
    .select({ id: emailOutbox.id })
    .from(emailOutbox)
    .where(and(eq(emailOutbox.template, template), eq(emailOutbox.toAddress, to)));
  return rows.length;
}
