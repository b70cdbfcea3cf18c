import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { users } from "../db/schema.js";
import type { Deps, RequestMeta } from "../deps.js";
import { queuePasswordChangedNotice } from "../email/email.service.js";
import { consumeEmailToken, emailTokenSchema, findLiveEmailToken, INVALID_EMAIL_TOKEN, issueEmailToken } from "../email/email-tokens.js";
import { endOlderProofs } from "../email/older-proofs.js";
import { enqueueEmail } from "../email/outbox.js";
import { greetingName, passwordResetEmail } from "../email/templates.js";
import { badInput, type FieldError } from "../errors.js";
import { emailSchema, parseInput } from "../lib/validation.js";
import { findUserByEmail, findUserById, lockUserById } from "../users/users.repo.js";
import type { ResetPasswordInput } from "./auth.types.js";
import { checkPasswordPolicy } from "./password.js";
import { revokeUserSessions } from "./sessions.service.js";

type ResetDeps = Pick<Deps, "db" | "config" | "outbox">;

/** The answer to requestPasswordReset never comes sooner than this, whatever the address. */
const RESET_REQUEST_FLOOR_MS = 250;

/**
 * Always true. For an active account: a reset token (1 h) and its email. For an unknown, inactive or
 * deleted one: nothing is sent. Both paths read the user and write one audit row in one transaction,
 * and the answer is held to a fixed floor, so neither time nor answer tells whether the account exists.
 */
export async function requestPasswordReset(deps: ResetDeps, rawEmail: string, meta: RequestMeta): Promise<boolean> {
  const started = Date.now();
  const { email } = parseInput(z.object({ email: emailSchema }), { email: rawEmail });
  const queued = await deps.db.transaction(async (tx) => {
    const user = await findUserByEmail(tx, email);
    const eligible = user !== null && user.isActive && user.deletedAt === null;
    if (eligible) {
      const token = await issueEmailToken(tx, user.id, "RESET_PASSWORD", user.email);
      await enqueueEmail(tx, deps.config, passwordResetEmail(deps.config, user.email, greetingName(user), token));
    }
    await recordAudit(tx, {
      action: "user.password_reset_requested",
      targetId: user?.id ?? null,
      ip: meta.ip,
      details: eligible ? { email } : { email, skipped: user ? "inactive" : "unknown_email" },
    });
    return eligible;
  });
  if (queued) deps.outbox.notify();
  const wait = RESET_REQUEST_FLOOR_MS - (Date.now() - started);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return true;
}

/**
 * Sets a new password from a reset link: the policy applies, the token works once (also under
 * concurrency), every session ends, a pending email change and every other reset link die
 * (endOlderProofs), and a notice goes to the account's address.
 */
export async function resetPassword(deps: ResetDeps & Pick<Deps, "hasher">, input: ResetPasswordInput, meta: RequestMeta): Promise<boolean> {
  const invalid = () => badInput([{ field: "token", message: INVALID_EMAIL_TOKEN }]);
  const shape = z.object({ token: emailTokenSchema, newPassword: z.string() });
  const { token, newPassword } = parseInput(shape, input);
  const live = await findLiveEmailToken(deps.db, token, "RESET_PASSWORD");
  const owner = live ? await findUserById(deps.db, live.userId) : null;
  if (!live || !owner) throw invalid();
  const problem: FieldError | null = await checkPasswordPolicy(newPassword, "newPassword", owner);
  if (problem) throw badInput([problem]);
  const passwordHash = await deps.hasher.hash(newPassword);

  const done = await deps.db.transaction(async (tx) => {
    const spent = await consumeEmailToken(tx, token, ["RESET_PASSWORD"]);
    if (!spent) return false; // someone else spent it first
    const user = await lockUserById(tx, spent.userId);
    if (!user || !user.isActive || user.deletedAt) return false;
    await tx
      .update(users)
      .set({
        passwordHash,
        passwordChangedAt: sql`now()`,
        failedLoginsSinceLastLogin: 0,
        // The link reached this address: that proves it, as a verification link would.
        ...(user.email === spent.email ? { emailVerified: true } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, user.id));
    const revoked = await revokeUserSessions(tx, user.id, "password_reset");
    await endOlderProofs(tx, user, "password_reset", meta.ip);
    await recordAudit(tx, { action: "user.password_reset", actorId: user.id, targetId: user.id, ip: meta.ip, details: { sessionsRevoked: revoked } });
    // The reset link proved this address just now: the notice may greet by name.
    await queuePasswordChangedNotice(tx, deps.config, { ...user, emailVerified: user.emailVerified || user.email === spent.email });
    return true;
  });
  if (!done) throw invalid();
  deps.outbox.notify();
  return true;
}
