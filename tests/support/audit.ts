import { and, asc, count, eq, inArray, sql, type SQL } from "drizzle-orm";
import { auditEvents, type AuditEventRow } from "../../src/db/schema.js";
import type { TestServer } from "./server.js";

/** Which audit rows to look at; every field given must match (none: the whole trail). */
export interface AuditFilter {
  /** One action, or any of several. */
  action?: string | string[];
  targetId?: string;
  actorId?: string;
  /** details.email: for events about an address that may belong to no account. */
  email?: string;
}

function where(filter: AuditFilter): SQL | undefined {
  const { action, targetId, actorId, email } = filter;
  return and(
    action === undefined ? undefined : Array.isArray(action) ? inArray(auditEvents.action, action) : eq(auditEvents.action, action),
    targetId === undefined ? undefined : eq(auditEvents.targetId, targetId),
    actorId === undefined ? undefined : eq(auditEvents.actorId, actorId),
    email === undefined ? undefined : sql`${auditEvents.details}->>'email' = ${email}`,
  );
}

/** The audit rows matching `filter`, oldest first (ties in one transaction by id). */
export function auditRows(t: TestServer, filter: AuditFilter = {}): Promise<AuditEventRow[]> {
  return t.deps.db.select().from(auditEvents).where(where(filter)).orderBy(asc(auditEvents.at), asc(auditEvents.id));
}

/** The `details` of the audit rows matching `filter`, oldest first. */
export async function auditDetails(t: TestServer, filter: AuditFilter): Promise<Array<Record<string, unknown> | null>> {
  return (await auditRows(t, filter)).map((r) => r.details);
}

/** How many audit rows match `filter`. */
export async function auditCount(t: TestServer, filter: AuditFilter = {}): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(auditEvents).where(where(filter));
  return Number(row!.n);
}
