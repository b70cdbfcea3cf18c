/*
 * The hash threads' task (src/auth/password.ts runs it through piscina): argon2id with @node-rs/argon2's
 * synchronous calls, which hold this worker thread, never the event loop (STYLE's "async only" is about the
 * event loop: here the async calls would put the hash back on libuv's pool). One task at a time per thread;
 * the next one is already waiting in the thread's port, so a core goes from one hash to the next without
 * the main thread in between.
 */
import { hashSync, verifySync } from "@node-rs/argon2";

export type Argon2Task =
  | { op: "hash"; password: string; memoryCost: number; timeCost: number; parallelism: number }
  | { op: "verify"; hash: string; password: string };

export default function runArgon2Task(task: Argon2Task): string | boolean {
  if (task.op === "hash") {
    // 2 = argon2id. Algorithm is an ambient const enum, which isolatedModules cannot inline.
    const { memoryCost, timeCost, parallelism } = task;
    return hashSync(task.password, { algorithm: 2, memoryCost, timeCost, parallelism });
  }
  try {
    return verifySync(task.hash, task.password);
  } catch {
    // A malformed stored hash is a failed verification, not a crash.
    return false;
  }
}
