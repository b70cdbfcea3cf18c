import { availableParallelism } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import pLimit from "p-limit";
import { badInput, type FieldError } from "../errors.js";
import { estimateStrength } from "./password-strength.js";
import type { Hasher } from "../deps.js";

export interface Argon2Params {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id minimum, and what API.md §4 requires. */
export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** libuv's thread pool: UV_THREADPOOL_SIZE, 4 by default (libuv's own cap is 1024). */
function threadPoolSize(): number {
  const size = Number.parseInt(process.env["UV_THREADPOOL_SIZE"] ?? "", 10);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/**
 * How many hashes run at once by default: one per core plus one, and one pool thread fewer than libuv
 * has (a pool of one thread still hashes, one at a time). The extra hash is there so that a core never
 * waits for the event loop: a finished hash hands its core to the next only after the main thread has
 * woken, taken the result and queued the next task, and with exactly one hash per core that gap left
 * 13% of two cores idle (raw verifications per second 166 against 207 unlimited; with one more, 198).
 * The free thread keeps WebCrypto (every JWT sign and verify), fs and DNS from queueing behind hashes.
 */
export function defaultHashConcurrency(cores = availableParallelism(), poolSize = threadPoolSize()): number {
  return Math.max(1, Math.min(cores + 1, poolSize - 1));
}

/**
 * argon2id through @node-rs/argon2's async (thread-pool) functions only: hashing never blocks the event
 * loop. At most `concurrency` hashes run at a time (see defaultHashConcurrency); the rest queue here
 * instead of in libuv's thread pool, which other work shares. Without the limit, a login flood puts
 * every `me` behind a queue of hashes.
 */
export function createArgon2Hasher(params: Argon2Params = PRODUCTION_ARGON2, concurrency = defaultHashConcurrency()): Hasher {
  // 2 = argon2id. Algorithm is an ambient const enum, which isolatedModules cannot inline.
  const options = { algorithm: 2 as const, ...params };
  const limit = pLimit(Math.max(1, concurrency));
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => limit(() => hash(password, options)),
    verify: async (passwordHash, password) => {
      try {
        return await limit(() => verify(passwordHash, password));
      } catch {
        // A malformed stored hash is a failed verification, not a crash.
        return false;
      }
    },
    dummyHash: () => (dummy ??= limit(() => hash("gatehouse-dummy-password", options))),
  };
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
/** zxcvbn scores 0..4; 3 is "safely unguessable: moderate protection from offline slow-hash scenario". */
export const PASSWORD_MIN_SCORE = 3;

/**
 * The password policy of API.md §4. Returns the problem for `field`, or null when the password is
 * acceptable. `context` feeds the estimator words it must treat as guessable (the user's own name and address).
 * The estimate never holds the event loop for long, whatever the length (see estimateStrength).
 */
export async function checkPasswordPolicy(
  password: string,
  field: string,
  context: { email: string; fullName?: string },
): Promise<FieldError | null> {
  const chars = [...password].length;
  if (chars < PASSWORD_MIN_LENGTH || chars > PASSWORD_MAX_LENGTH) {
    return { field, message: `Password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` };
  }
  const localPart = context.email.split("@")[0]?.toLowerCase() ?? "";
  // Very short local parts ("a@x.io") would forbid half the alphabet; the estimator still sees them.
  if (localPart.length >= 3 && password.toLowerCase().includes(localPart)) {
    return { field, message: "Password must not contain your email address" };
  }
  const userInputs = [localPart, ...(context.fullName ?? "").toLowerCase().split(/\s+/)].filter((w) => w.length >= 3);
  const { score, hint } = await estimateStrength(password, userInputs);
  if (score < PASSWORD_MIN_SCORE) return { field, message: `Password is too weak${hint ? `: ${hint}` : ""}` };
  return null;
}

/** What a social-only account is told when an operation needs its current password (API.md §8). */
export const NO_PASSWORD_MESSAGE = "This account has no password yet: set one through requestPasswordReset";

/**
 * The current-password check of an authenticated operation (change password or email, start TOTP):
 * BAD_USER_INPUT on `field` when it is wrong. An account made by a social login has no password: it is
 * told so (the caller is signed in, nothing about the account leaks) and sets one through the reset flow.
 */
export async function verifyCurrentPassword(
  hasher: Hasher,
  user: { passwordHash: string | null },
  password: string,
  field = "currentPassword",
): Promise<void> {
  if (user.passwordHash === null) throw badInput([{ field, message: NO_PASSWORD_MESSAGE }]);
  if (!(await hasher.verify(user.passwordHash, password))) throw badInput([{ field, message: "Current password is incorrect" }]);
}
