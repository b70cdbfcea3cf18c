import { eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.js";
import type { Queryable } from "../db/client.js";
import { users, type UserRow } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { issueEmailToken } from "../email/email-tokens.js";
import { enqueueEmail } from "../email/outbox.js";
import { emailChangeConfirmation, emailChangeNotice, greetingName } from "../email/templates.js";
import { conflict } from "../errors.js";
import { EMAIL_TAKEN } from "../users/email-taken.js";
import { findUserByEmail } from "../users/users.repo.js";

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
