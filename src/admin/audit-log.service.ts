import { and, count, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../db/client.js";
import { auditEvents, type AuditEventRow } from "../db/schema.js";
import { pageRequest, pageSchema, toPage, type Page } from "../lib/paging.js";
import { parseInput, uuidSchema } from "../lib/validation.js";
import type { AuditFilter } from "./admin.types.js";

const argsSchema = pageSchema.extend({
  actorId: uuidSchema.nullish(),
  targetId: uuidSchema.nullish(),
  action: z.string().trim().max(100).nullish(),
});

/** Newest first, filterable by actor, target, action and time (each served by an (x, at) index). */
export async function listAuditEvents(
  db: Queryable,
  filter: AuditFilter | null | undefined,
  page: number,
  size: number,
): Promise<Page<AuditEventRow>> {
  const f = filter ?? {};
  const args = parseInput(argsSchema, { page, size, actorId: f.actorId, targetId: f.targetId, action: f.action });
  const request = pageRequest(args);
  const conditions: (SQL | undefined)[] = [
    args.actorId ? eq(auditEvents.actorId, args.actorId) : undefined,
    args.targetId ? eq(auditEvents.targetId, args.targetId) : undefined,
    args.action ? eq(auditEvents.action, args.action) : undefined,
    f.after ? gte(auditEvents.at, f.after) : undefined,
    f.before ? lt(auditEvents.at, f.before) : undefined,
  ];
  const where = and(...conditions);
  const [rows, [totalRow]] = await Promise.all([
    db
      .select()
      .from(auditEvents)
      .where(where)
      // "nulls last" as the (…, at DESC NULLS LAST) indexes are built (the columns are NOT NULL, but
      // the planner only uses an index whose null ordering matches the ORDER BY).
      .orderBy(sql`${auditEvents.at} desc nulls last`, sql`${auditEvents.id} desc nulls last`)
      .limit(request.size)
      .offset(request.offset),
    db.select({ n: count() }).from(auditEvents).where(where),
  ]);
  return toPage(rows, Number(totalRow?.n ?? 0), request);
}
