import { and, count, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../db/client.js";
import { auditEvents } from "../db/schema.js";
import { parseInput, uuidSchema } from "../lib/validation.js";
import { AuditEvent, AuditEventPage, type AuditFilter } from "./admin.types.js";

const argsSchema = z.object({
  page: z.number().int().min(1, "page must be 1 or more"),
  size: z.number().int().min(1, "size must be from 1 to 100").max(100, "size must be from 1 to 100"),
  actorId: uuidSchema.nullish(),
  targetId: uuidSchema.nullish(),
  action: z.string().trim().max(100).nullish(),
});

/** Newest first, filterable by actor, target, action and time (each served by an (x, at) index). */
export async function listAuditEvents(db: Queryable, filter: AuditFilter | null | undefined, page: number, size: number): Promise<AuditEventPage> {
  const f = filter ?? {};
  const args = parseInput(argsSchema, { page, size, actorId: f.actorId, targetId: f.targetId, action: f.action });
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
      .limit(args.size)
      .offset((args.page - 1) * args.size),
    db.select({ n: count() }).from(auditEvents).where(where),
  ]);
  const total = Number(totalRow?.n ?? 0);
  return Object.assign(new AuditEventPage(), {
    items: rows.map((r) => Object.assign(new AuditEvent(), r)),
    total,
    page: args.page,
    size: args.size,
    pages: Math.ceil(total / args.size),
  });
}
