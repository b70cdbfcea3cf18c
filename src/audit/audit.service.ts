import type { Queryable } from "../db/client.js";
import { auditEvents } from "../db/schema.js";

/** Audit actions written so far; admin actions join them with the admin feature. */
export type AuditAction =
  | "user.registered"
  | "user.login"
  | "user.login_failed"
  | "user.logout"
  | "user.logout_all"
  | "user.session_revoked"
  | "user.refresh_token_reused"
  | "user.profile_updated"
  | "user.password_changed"
  | "user.deactivated"
  | "user.email_verified"
  | "user.email_change_requested"
  | "user.email_change_cancelled"
  | "user.email_changed"
  | "user.password_reset_requested"
  | "user.password_reset"
  | "user.mfa_setup_started"
  | "user.mfa_enabled"
  | "user.mfa_verified"
  | "user.mfa_failed"
  | "user.mfa_disabled"
  | "user.recovery_codes_regenerated"
  | "user.recovery_code_used"
  | "user.identity_linked"
  | "user.identity_unlinked"
  | "user.oauth_refused"
  | "admin.mfa_reset"
  | "admin.user_updated"
  | "admin.bulk"
  | "admin.bulk_user_changed"
  | "admin.created"
  | "admin.promoted";

export interface AuditEntry {
  action: AuditAction;
  actorId?: string | null;
  targetId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

const toValues = (entry: AuditEntry) => ({
  action: entry.action,
  actorId: entry.actorId ?? null,
  targetId: entry.targetId ?? null,
  ip: entry.ip ?? null,
  details: entry.details ?? null,
});

/** Call with the transaction that makes the change, so the event and the change commit together. */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db
    .insert(auditEvents)
    .values(toValues(entry))
    .prepare("gatehouse_audit_insert")
    .execute();
}

/** Many events in one multi-row insert (a bulk run's), in the transaction of the change. */
export async function recordAudits(db: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length > 0) await db.insert(auditEvents).values(entries.map(toValues));
}
