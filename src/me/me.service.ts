import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { issueTokens, type IssuedTokens } from "../auth/auth.service.js";
import { checkPasswordPolicy, verifyCurrentPassword } from "../auth/password.js";
import { createSession, findSessionAuth, revokeUserSessions } from "../auth/sessions.service.js";
import { users, type UserRow } from "../db/schema.js";
import { queuePasswordChangedNotice } from "../email/email.service.js";
import { cancelPendingEmailChange, endOlderProofs } from "../email/older-proofs.js";
import { badInput, forbidden, unauthenticated } from "../errors.js";
import { emailSchema, fullNameSchema, parseInput } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { isActiveAdmin, lockAdminInvariant, lockUserById, otherActiveAdminExists } from "../users/users.repo.js";
import { requestEmailChange } from "./email-change.service.js";
import type { ChangePasswordInput, UpdateMeInput } from "./me.types.js";

const updateMeSchema = z.object({
  fullName: fullNameSchema.nullish(),
  email: emailSchema.nullish(),
  // Only checked against the hash; the cap keeps argon2 from hashing megabytes.
  currentPassword: z.string().max(1024, "Current password is incorrect").nullish(),
});

/**
 * Changes the caller's own profile: the name at once; a new email only through pendingEmail and a
 * confirmation link (see requestEmailChange). Role and status are not inputs: a user never changes them.
 * A new email needs the current password, so a stolen access token alone cannot move the account to
 * another mailbox (API.md §5); those calls are rate-limited per user, counted before the password
 * check, so the limit also bounds password guessing. Sending the current address cancels a pending
 * change: it needs neither, since it only undoes (it is how an owner reverts a change they did not make).
 */
export async function updateMe(
  deps: Pick<Deps, "db" | "config" | "outbox" | "hasher" | "rateLimiter">,
  me: UserRow,
  input: UpdateMeInput,
  meta: RequestMeta,
): Promise<UserRow> {
  const { fullName, email, currentPassword } = parseInput(updateMeSchema, input);
  const nameChanges = fullName != null && fullName !== me.fullName;
  const emailRequested = email != null && email !== me.email;
  const cancelsPending = email != null && email === me.email && me.pendingEmail !== null;
  if (emailRequested) {
    await deps.rateLimiter.check("emailChange", `user=${me.id}`);
    if (!currentPassword) throw badInput([{ field: "currentPassword", message: "Enter your current password to change your email" }]);
    await verifyCurrentPassword(deps.hasher, me, currentPassword);
  }
  if (!nameChanges && !emailRequested && !cancelsPending) return me;

  const updated = await deps.db.transaction(async (tx) => {
    if (nameChanges) {
      await tx.update(users).set({ fullName, updatedAt: sql`now()` }).where(eq(users.id, me.id));
      await recordAudit(tx, {
        action: "user.profile_updated",
        actorId: me.id,
        targetId: me.id,
        ip: meta.ip,
        details: { before: { fullName: me.fullName }, after: { fullName } },
      });
    }
    if (emailRequested) await requestEmailChange(tx, deps.config, { ...me, fullName: fullName ?? me.fullName }, email, meta.ip);
    if (cancelsPending) await cancelPendingEmailChange(tx, me, "requested_current_address", meta.ip);
    const [row] = await tx.select().from(users).where(eq(users.id, me.id));
    return row!;
  });
  if (emailRequested) deps.outbox.notify();
  return updated;
}

const changePasswordSchema = z.object({
  currentPassword: z.string().min(1, "Current password is required").max(1024, "Current password is incorrect"),
  newPassword: z.string(),
});

/**
 * Checks the current password, then applies the policy to the new one, revokes every session (this one
 * included: its access token stops working at the next request) and opens a fresh one for the caller.
 * A pending email change and every unused reset link die with the old password, and a notice goes to
 * the account's address. The new session carries how the caller's session was authenticated (its amr
 * and second factor), so a TOTP user is not asked for a code again.
 */
export async function changePassword(
  deps: Pick<Deps, "db" | "hasher" | "tokens" | "config" | "outbox">,
  me: UserRow,
  input: ChangePasswordInput,
  meta: RequestMeta,
  currentSessionId?: string,
): Promise<IssuedTokens> {
  // The current password first: without it the policy (the strength estimator) never runs, so a stolen
  // access token buys neither a strength oracle nor CPU.
  const { currentPassword, newPassword } = parseInput(changePasswordSchema, input);
  await verifyCurrentPassword(deps.hasher, me, currentPassword);
  if (newPassword === currentPassword) throw badInput([{ field: "newPassword", message: "New password must differ from the current one" }]);
  const problem = await checkPasswordPolicy(newPassword, "newPassword", me);
  if (problem) throw badInput([problem]);
  const passwordHash = await deps.hasher.hash(newPassword);
  const result = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, passwordChangedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(users.id, me.id))
      .returning();
    if (!updated || !updated.isActive || updated.deletedAt) return null;
    const auth = currentSessionId ? await findSessionAuth(tx, currentSessionId) : null;
    const revoked = await revokeUserSessions(tx, me.id, "password_changed");
    const session = await createSession(tx, deps.config.jwt.refreshTtl, me.id, meta, auth ?? undefined);
    // `updated` was read under the row lock of the UPDATE: its pendingEmail is the current one.
    await endOlderProofs(tx, updated, "password_changed", meta.ip);
    await recordAudit(tx, {
      action: "user.password_changed",
      actorId: me.id,
      targetId: me.id,
      ip: meta.ip,
      details: { sessionsRevoked: revoked },
    });
    await queuePasswordChangedNotice(tx, deps.config, updated);
    return { user: { ...updated, pendingEmail: null }, ...session };
  });
  // The UPDATE found the account gone or deactivated since this request authenticated.
  if (!result) throw unauthenticated("ACCOUNT_INACTIVE");
  deps.outbox.notify();
  return issueTokens(deps, result.user, result.sessionId, result.refreshToken);
}

/**
 * Deactivates the caller's own account and ends every session. The admin-invariant lock is taken first
 * (lockAdminInvariant), so the last active admin is refused even when two admins try at the same moment.
 */
export async function deactivateMe(deps: Pick<Deps, "db">, me: UserRow, confirm: boolean, meta: RequestMeta): Promise<boolean> {
  if (confirm !== true) throw badInput([{ field: "confirm", message: "Set confirm: true to deactivate your account" }]);
  await deps.db.transaction(async (tx) => {
    await lockAdminInvariant(tx);
    // Re-read under lock: an admin may have deactivated this account since the request began.
    const current = await lockUserById(tx, me.id);
    if (!current || !current.isActive || current.deletedAt) throw unauthenticated("ACCOUNT_INACTIVE");
    if (isActiveAdmin(current) && !(await otherActiveAdminExists(tx, [me.id]))) {
      throw forbidden("You are the last active admin: make another admin before deactivating your account");
    }
    await tx.update(users).set({ isActive: false, updatedAt: sql`now()` }).where(eq(users.id, me.id));
    const revoked = await revokeUserSessions(tx, me.id, "deactivated");
    await recordAudit(tx, {
      action: "user.deactivated",
      actorId: me.id,
      targetId: me.id,
      ip: meta.ip,
      details: { self: true, sessionsRevoked: revoked },
    });
  });
  return true;
}
