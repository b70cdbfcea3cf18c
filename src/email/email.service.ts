import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { checkPasswordPolicy } from "../auth/password.js";
import { revokeUserSessions } from "../auth/sessions.service.js";
import type { Queryable } from "../db/client.js";
import { EMAIL_TAKEN, rethrowEmailTaken } from "../users/email-taken.js";
import { users, type UserRow } from "../db/schema.js";
import { badInput, conflict, type FieldError } from "../errors.js";
import { emailSchema, parseInput } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { findUserByEmail, findUserById, lockUserById } from "../users/users.repo.js";
import { consumeEmailToken, deleteUnusedEmailTokens, findLiveEmailToken, issueEmailToken } from "./email-tokens.js";
import { enqueueEmail } from "./outbox.js";
import {
  emailChangeConfirmation,
  emailChangeNotice,
  greetingName,
  passwordChangedEmail,
  passwordResetEmail,
  verificationEmail,
} from "./templates.js";
import type { ResetPasswordInput } from "./email.types.js";

type EmailDeps = Pick<Deps, "db" | "config" | "outbox">;

const INVALID_TOKEN = "This link is invalid, expired or already used";
const tokenSchema = z.object({ token: z.string().trim().min(1, "Token is required").max(256, INVALID_TOKEN) });

/** Writes a verification token and its email; call inside the transaction that creates or changes the user. */
export async function queueVerificationEmail(tx: Queryable, config: Deps["config"], user: Pick<UserRow, "id" | "email">): Promise<void> {
  const token = await issueEmailToken(tx, user.id, "VERIFY_EMAIL", user.email);
  await enqueueEmail(tx, config, verificationEmail(config, user.email, token));
}

/** Writes the "your password was changed" notice to the account's address (reset and change alike). */
export async function queuePasswordChangedNotice(
  tx: Queryable,
  config: Deps["config"],
  user: Pick<UserRow, "email" | "fullName" | "emailVerified">,
): Promise<void> {
  await enqueueEmail(tx, config, passwordChangedEmail(config, user.email, greetingName(user)));
}

/**
 * Spends a verification or email-change token. VERIFY_EMAIL marks the address verified;
 * CHANGE_EMAIL swaps the pending address in, if no other account took it meanwhile (CONFLICT,
 * and the token stays usable once the address is free).
 */
export async function verifyEmail(deps: Pick<Deps, "db">, rawToken: string, meta: RequestMeta): Promise<UserRow> {
  const { token } = parseInput(tokenSchema, { token: rawToken });
  const invalid = () => badInput([{ field: "token", message: INVALID_TOKEN }]);
  try {
    const updated = await deps.db.transaction(async (tx) => {
      const spent = await consumeEmailToken(tx, token, ["VERIFY_EMAIL", "CHANGE_EMAIL"]);
      if (!spent) return null;
      const user = await lockUserById(tx, spent.userId);
      if (!user || user.deletedAt) return null;
      if (spent.kind === "VERIFY_EMAIL") {
        // The address changed since this link was sent: it proves nothing about the current one.
        if (user.email !== spent.email) return null;
        const [row] = await tx
          .update(users)
          .set({ emailVerified: true, updatedAt: sql`now()` })
          .where(eq(users.id, user.id))
          .returning();
        await recordAudit(tx, { action: "user.email_verified", actorId: user.id, targetId: user.id, ip: meta.ip, details: { email: user.email } });
        return row!;
      }
      if (user.pendingEmail !== spent.email) return null; // superseded by a newer request
      const [row] = await tx
        .update(users)
        .set({ email: spent.email, pendingEmail: null, emailVerified: true, updatedAt: sql`now()` })
        .where(eq(users.id, user.id))
        .returning();
      // Links sent to the old address must not verify it, nor reset the password of the account it left.
      await deleteUnusedEmailTokens(tx, user.id, ["VERIFY_EMAIL", "RESET_PASSWORD"]);
      await recordAudit(tx, {
        action: "user.email_changed",
        actorId: user.id,
        targetId: user.id,
        ip: meta.ip,
        details: { before: { email: user.email }, after: { email: spent.email } },
      });
      return row!;
    });
    if (!updated) throw invalid();
    return updated;
  } catch (err) {
    rethrowEmailTaken(err, "That email address now belongs to another account");
  }
}

/** Sends a fresh verification link (the older ones stop working). false when the address is already verified. */
export async function resendVerificationEmail(deps: EmailDeps, me: UserRow): Promise<boolean> {
  if (me.emailVerified) return false;
  await deps.db.transaction((tx) => queueVerificationEmail(tx, deps.config, me));
  deps.outbox.notify();
  return true;
}

/** The answer to requestPasswordReset never comes sooner than this, whatever the address. */
const RESET_REQUEST_FLOOR_MS = 250;

/**
 * Always true. For an active account: a reset token (1 h) and its email. For an unknown, inactive or
 * deleted one: nothing is sent. Both paths read the user and write one audit row in one transaction,
 * and the answer is held to a fixed floor, so neither time nor answer tells whether the account exists.
 */
export async function requestPasswordReset(deps: EmailDeps, rawEmail: string, meta: RequestMeta): Promise<boolean> {
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
export async function resetPassword(deps: EmailDeps & Pick<Deps, "hasher">, input: ResetPasswordInput, meta: RequestMeta): Promise<boolean> {
  const invalid = () => badInput([{ field: "token", message: INVALID_TOKEN }]);
  const shape = z.object({ token: tokenSchema.shape.token, newPassword: z.string() });
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

/**
 * Starts an email change inside the caller's transaction: the new address goes to pendingEmail, a
 * confirmation link to it and a notice to the old address. CONFLICT when another account has it.
 * The caller has checked the current password and the emailChange limit (updateMe).
 */
export async function requestEmailChange(tx: Queryable, config: Deps["config"], me: UserRow, newEmail: string, ip: string | null): Promise<void> {
  const owner = await findUserByEmail(tx, newEmail);
  if (owner && owner.id !== me.id) throw conflict(EMAIL_TAKEN);
  await tx.update(users).set({ pendingEmail: newEmail, updatedAt: sql`now()` }).where(eq(users.id, me.id));
  const token = await issueEmailToken(tx, me.id, "CHANGE_EMAIL", newEmail);
  // Neither the new address (not confirmed) nor an unverified old one is greeted by name.
  await enqueueEmail(tx, config, emailChangeConfirmation(config, newEmail, token));
  await enqueueEmail(tx, config, emailChangeNotice(config, me.email, greetingName(me), newEmail));
  await recordAudit(tx, {
    action: "user.email_change_requested",
    actorId: me.id,
    targetId: me.id,
    ip,
    details: { before: { email: me.email }, requested: { email: newEmail } },
  });
}

/** Why a pending email change ended without being confirmed (the audit row's `reason`). */
export type EmailChangeCancelReason = "password_reset" | "password_changed" | "requested_current_address";

/**
 * Drops the pending address and kills its confirmation link, inside the caller's transaction; audited
 * (user.email_change_cancelled) when there was one. `user` must be read in that transaction.
 */
export async function cancelPendingEmailChange(
  tx: Queryable,
  user: Pick<UserRow, "id" | "pendingEmail">,
  reason: EmailChangeCancelReason,
  ip: string | null,
): Promise<void> {
  await deleteUnusedEmailTokens(tx, user.id, ["CHANGE_EMAIL"]);
  if (user.pendingEmail === null) return;
  await tx.update(users).set({ pendingEmail: null, updatedAt: sql`now()` }).where(eq(users.id, user.id));
  await recordAudit(tx, { action: "user.email_change_cancelled", actorId: user.id, targetId: user.id, ip, details: { pendingEmail: user.pendingEmail, reason } });
}

/**
 * A password reset or change proves the account is back in its owner's hands, so nothing started
 * before it may still take the account: a parked email change (someone who registered the owner's
 * address could otherwise confirm it after the owner recovered the account) and any unused reset link.
 */
export async function endOlderProofs(
  tx: Queryable,
  user: Pick<UserRow, "id" | "pendingEmail">,
  reason: "password_reset" | "password_changed",
  ip: string | null,
): Promise<void> {
  await cancelPendingEmailChange(tx, user, reason, ip);
  await deleteUnusedEmailTokens(tx, user.id, ["RESET_PASSWORD"]);
}
