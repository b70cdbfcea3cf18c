import ms from "ms";

/**
 * The rate limits of API.md §4 (per rolling window), each overridable with RATE_LIMIT_<NAME>=max/window,
 * e.g. RATE_LIMIT_LOGIN=10/15m. `loginAccount` and `requestPasswordResetIp` are the second limits of
 * their operations: login per account across all addresses (distributed guessing), and password
 * reset requests per client address. `loginIp` is login per client address across all emails
 * (spraying many accounts from one address; API.md §5).
 */
export const DEFAULT_LIMITS = {
  register: { max: 5, window: "1h" },
  login: { max: 10, window: "15m" },
  loginAccount: { max: 30, window: "1h" },
  loginIp: { max: 100, window: "15m" },
  requestPasswordReset: { max: 3, window: "1h" },
  requestPasswordResetIp: { max: 10, window: "1h" },
  changePassword: { max: 3, window: "1h" },
  resendVerificationEmail: { max: 3, window: "1h" },
  refreshToken: { max: 30, window: "1m" },
  // updateMe calls that ask for a new address, per user (API.md §5): each sends two emails and checks the password.
  emailChange: { max: 5, window: "1h" },
  // Per user, one budget shared by every MFA mutation that checks a code or the password (verifyMfa,
  // confirmTotpSetup, disableTotp, regenerateRecoveryCodes, startTotpSetup): 5 guesses of a 6-digit
  // code per 15 minutes whichever field asks (API.md §7). Successful calls give their slot back.
  mfaCode: { max: 5, window: "15m" },
  // Social login (API.md §8), per client address: startOAuthLogin/startOAuthLink each store a flow row,
  // completeOAuthLogin/completeOAuthLink each call the provider.
  oauthStart: { max: 30, window: "15m" },
  oauthComplete: { max: 30, window: "15m" },
} as const;

export type LimitName = keyof typeof DEFAULT_LIMITS;
export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as LimitName[];

export interface Limit {
  max: number;
  /** As written ("15m"): graphql-rate-limit reads a string; a number would silently disable it. */
  window: string;
  windowMs: number;
}

/** RATE_LIMIT_LOGIN_ACCOUNT for loginAccount, and so on. */
export const limitEnvName = (name: LimitName) => `RATE_LIMIT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** RATE_LIMIT_LOGIN=10/15m and friends: "max/window", window as 30s, 15m, 1h, 1d. */
export function parseLimitOverrides(env: NodeJS.ProcessEnv): { ok: true; value: Record<LimitName, Limit> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const value = {} as Record<LimitName, Limit>;
  for (const name of LIMIT_NAMES) {
    const variable = limitEnvName(name);
    const raw = env[variable]?.trim();
    const { max, window } = raw ? { max: Number(raw.split("/")[0]), window: raw.split("/")[1] ?? "" } : DEFAULT_LIMITS[name];
    const windowMs = /^\d+(s|m|h|d)$/.test(window) ? (ms(window as ms.StringValue) as number) : NaN;
    if (!Number.isInteger(max) || max < 1 || !Number.isFinite(windowMs) || windowMs < 1000) {
      problems.push(`${variable}: must be max/window with max >= 1 and a window such as 30s, 15m, 1h or 1d (got "${raw}")`);
      continue;
    }
    value[name] = { max, window, windowMs };
  }
  return problems.length ? { ok: false, problems } : { ok: true, value };
}
