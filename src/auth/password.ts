import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { badInput, type FieldError } from "../errors.js";
import { estimateStrength } from "./password-strength.js";
import type { Hasher } from "../deps.js";
import type { Argon2Task } from "./argon2-worker.js";

export interface Argon2Params {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id minimum, and what API.md §4 requires. */
export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Most hash threads a process runs unless HASH_THREADS says otherwise: each holds 19 MiB while it hashes. */
export const MAX_DEFAULT_HASH_THREADS = 8;

/**
 * One hash thread per core the process may use, at most MAX_DEFAULT_HASH_THREADS. Node counts the host's
 * cores, not a container's CPU quota: under a quota, set HASH_THREADS to it.
 */
export function defaultHashThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, MAX_DEFAULT_HASH_THREADS));
}

/** The process's hash threads, by their number (every hasher of a process asks for the same, so one pool). */
const pools = new Map<number, Piscina>();

/**
 * Hash threads, started on first use: piscina worker threads that each run one hash at a time
 * (argon2-worker.ts), with a second task queued in each so that a finished hash goes straight to the
 * next. They are threads of their own, not libuv's pool of four: WebCrypto (every JWT sign and verify),
 * fs and DNS never queue behind a hash, and a host with more cores hashes on more of them without
 * UV_THREADPOOL_SIZE. Idle threads keep no process alive (a CLI exits when its hash is done).
 * From source (tsx, vitest) the worker is the .ts file, loaded through tsx as this module was.
 */
function hashPool(threads: number): Piscina {
  let pool = pools.get(threads);
  if (pool) return pool;
  const fromSource = import.meta.url.endsWith(".ts");
  pool = new Piscina({
    filename: new URL(fromSource ? "./argon2-worker.ts" : "./argon2-worker.js", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 2,
    // No queue limit: a caller waits its turn (the rate limits bound how many can ask).
    // Never the process's own flags: `node -e`, --input-type or a profiler's flags mean nothing to a worker.
    execArgv: fromSource ? ["--import", "tsx"] : [],
  });
  pools.set(threads, pool);
  return pool;
}

/**
 * argon2id on `threads` hash threads (hashPool): hashing never blocks the event loop, and at most one
 * hash per thread runs at a time, whatever the number of callers. The rest wait in piscina's queue.
 */
export function createArgon2Hasher(params: Argon2Params = PRODUCTION_ARGON2, threads = defaultHashThreads()): Hasher {
  const run = (task: Argon2Task) => hashPool(threads).run(task) as Promise<string | boolean>;
  const hash = async (password: string) => String(await run({ op: "hash", password, ...params }));
  let dummy: Promise<string> | undefined;
  return {
    hash,
    verify: async (passwordHash, password) => (await run({ op: "verify", hash: passwordHash, password })) === true,
    dummyHash: () => (dummy ??= hash("gatehouse-dummy-password")),
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
