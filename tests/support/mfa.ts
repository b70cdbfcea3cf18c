import { expect } from "vitest";
import { totpCodeAt, TOTP_PERIOD_SECONDS } from "../../src/auth/mfa/totp.js";
import { REGISTER, onlyError, type AuthTokens } from "./flows.js";
import { STRONG_PASSWORD, uniqueEmail, type GqlResponse, type TestServer } from "./server.js";

/* The operations, clock and helpers the second-factor tests (tests/mfa-*.test.ts) share. */

export const LOGIN_MFA = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { accessToken refreshToken mfaRequired user { id mfa { totpEnabled recoveryCodesLeft } } }
  }
`;
export const START_SETUP = /* GraphQL */ `
  mutation Start($p: String!) { startTotpSetup(currentPassword: $p) { secret otpauthUri } }
`;
export const CONFIRM_SETUP = /* GraphQL */ `mutation Confirm($code: String!) { confirmTotpSetup(code: $code) }`;
export const VERIFY = /* GraphQL */ `
  mutation Verify($code: String!) {
    verifyMfa(code: $code) { accessToken refreshToken mfaRequired user { id mfa { totpEnabled recoveryCodesLeft } } }
  }
`;
export const DISABLE = /* GraphQL */ `mutation Disable($code: String!) { disableTotp(code: $code) }`;
export const REGENERATE = /* GraphQL */ `mutation Regenerate($code: String!) { regenerateRecoveryCodes(code: $code) }`;
export const RESET_MFA = /* GraphQL */ `mutation ResetMfa($id: ID!) { resetUserMfa(id: $id) { id mfa { totpEnabled recoveryCodesLeft } } }`;
export const ME_MFA = /* GraphQL */ `query MeMfa { me { id mfa { totpEnabled recoveryCodesLeft } } }`;

export interface Session extends AuthTokens {
  mfaRequired: boolean;
}

/**
 * The TOTP clock the server reads (deps.now), stepped by the test: each test moves to a step of its
 * own, so steps spent by earlier tests never refuse its codes, and boundaries are exact.
 */
export interface TestClock {
  now: () => number;
  /** Epoch seconds now. */
  epoch(): number;
  /** Moves to `offset` seconds into the next unused step and returns its start. */
  nextStep(offset?: number): number;
}

/** A clock starting at an arbitrary fixed instant (2033), far from the machine's. */
export function createTestClock(startEpoch = 2_000_000_000): TestClock {
  let epoch = startEpoch;
  return {
    now: () => epoch * 1000,
    epoch: () => epoch,
    nextStep(offset = 1) {
      const start = (Math.floor(epoch / TOTP_PERIOD_SECONDS) + 1) * TOTP_PERIOD_SECONDS;
      epoch = start + offset;
      return start;
    },
  };
}

/** What an authenticator app with `secret` shows at the clock's time plus `shiftSeconds`. */
export const codeAt = (secret: string, clock: TestClock, shiftSeconds = 0): string => totpCodeAt(secret, clock.epoch() + shiftSeconds);

export interface MfaAccount {
  id: string;
  email: string;
  password: string;
  secret: string;
  recoveryCodes: string[];
  /** A complete session (the one that enrolled). */
  session: AuthTokens;
}

/** The data of a response that must have succeeded. */
export function ok<T>(res: GqlResponse<T>): T {
  if (res.body.errors || !res.body.data) throw new Error(`request failed: ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** The MFA operations, bound to the file's server and clock (read when called: they start in beforeAll). */
export function mfaCalls(server: () => TestServer, clock: () => TestClock) {
  const t = () => server();
  const calls = {
    login: (email: string, password = STRONG_PASSWORD) => t().gql<{ login: Session }>(LOGIN_MFA, { input: { email, password } }),
    verify: (token: string, code: string) => t().gql<{ verifyMfa: Session & { user: { mfa: MfaStatus } } }>(VERIFY, { code }, { token }),
    disable: (token: string, code: string) => t().gql<{ disableTotp: boolean }>(DISABLE, { code }, { token }),
    regenerate: (token: string, code: string) => t().gql<{ regenerateRecoveryCodes: string[] }>(REGENERATE, { code }, { token }),
    start: (token: string, password = STRONG_PASSWORD) =>
      t().gql<{ startTotpSetup: { secret: string; otpauthUri: string } }>(START_SETUP, { p: password }, { token }),
    confirm: (token: string, code: string) => t().gql<{ confirmTotpSetup: string[] }>(CONFIRM_SETUP, { code }, { token }),
    async mfaOf(token: string): Promise<MfaStatus> {
      return ok(await t().gql<{ me: { mfa: MfaStatus } }>(ME_MFA, {}, { token })).me.mfa;
    },
    /** Registers and logs in (no TOTP yet). */
    async signUp(prefix = "mfa"): Promise<{ id: string; email: string; password: string; session: AuthTokens }> {
      const email = uniqueEmail(prefix);
      const reg = ok(await t().gql<{ register: { id: string } }>(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Mfa Tester" } }));
      const { login } = ok(await calls.login(email));
      return { id: reg.register.id, email, password: STRONG_PASSWORD, session: login };
    },
    /** Turns TOTP on for a signed-in account, in a step of its own; the step is spent afterwards. */
    async enrol(account: { session: AuthTokens }): Promise<{ secret: string; recoveryCodes: string[] }> {
      const { secret } = ok(await calls.start(account.session.accessToken)).startTotpSetup;
      clock().nextStep();
      const codes = ok(await calls.confirm(account.session.accessToken, codeAt(secret, clock()))).confirmTotpSetup;
      return { secret, recoveryCodes: codes };
    },
    /** A fresh account with TOTP on. */
    async mfaAccount(prefix = "mfa"): Promise<MfaAccount> {
      const account = await calls.signUp(prefix);
      return { ...account, ...(await calls.enrol(account)) };
    },
    /** A password login of a TOTP account: a pending session. */
    async pendingLogin(account: { email: string; password: string }): Promise<Session> {
      const { login } = ok(await calls.login(account.email, account.password));
      expect(login.mfaRequired).toBe(true);
      return login;
    },
    /** A pending login completed with a TOTP code of a fresh step. */
    async fullLogin(account: MfaAccount): Promise<Session> {
      const pending = await calls.pendingLogin(account);
      clock().nextStep();
      return ok(await calls.verify(pending.accessToken, codeAt(account.secret, clock()))).verifyMfa;
    },
  };
  return calls;
}

export interface MfaStatus {
  totpEnabled: boolean;
  recoveryCodesLeft: number;
}

/** FORBIDDEN with this extensions.reason, and no data. */
export function expectForbidden(res: GqlResponse<object>, reason: "MFA_REQUIRED" | "MFA_ENROLLMENT_REQUIRED"): void {
  const error = onlyError(res);
  expect(error.extensions).toMatchObject({ code: "FORBIDDEN", reason });
  expect(res.body.data ?? null).toBeNull();
}
