import { eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.js";
import type { Queryable } from "../db/client.js";
import { users, type UserRow } from "../db/schema.js";
import { deleteUnusedEmailTokens } from "./email-tokens.js";

/*
 * What dies when something newer proves the account: a pending email change and its link, unused reset
 * links. auth/'s password reset and me/'s changePassword and updateMe call these inside their own
 * transactions. They live beside the tokens they kill, in email/, which both of those folders already
 * import: in me/ they would make auth/ import me/, which imports auth/.
 */

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
  await recordAudit(tx, {
    action: "user.email_change_cancelled",
    actorId: user.id,
    targetId: user.id,
    ip,
    details: { pendingEmail: user.pendingEmail, reason },
  });
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
