import type { AuditEventRow, UserRow } from "../db/schema.js";
import type { Page } from "../lib/paging.js";
import { toUserView } from "../users/user.view.js";
import {
  AuditEvent,
  AuditEventPage,
  BulkFailure,
  BulkUsersResult,
  DailyCount,
  RoleCount,
  UserPage,
  UserStatistics,
} from "./admin.types.js";
import type { BulkResult } from "./bulk-users.service.js";
import type { DayCount, UserStats } from "./stats.service.js";
import type { UserSlice } from "./users-connection.service.js";
import type { UserTotal } from "./users-query.service.js";
import { PageInfo, UserConnection, UserEdge } from "./users-connection.types.js";

/*
 * The admin feature's one mapping from what its services return (rows, plain results) to its GraphQL
 * types. Each copies named fields only, as toUserView does for users.
 */

export function toUserPageView(page: Page<UserRow> & { totalIsExact: boolean }): UserPage {
  return Object.assign(new UserPage(), {
    items: page.rows.map((r) => toUserView(r)),
    total: page.total,
    totalIsExact: page.totalIsExact,
    page: page.page,
    size: page.size,
    pages: page.pages,
  });
}

/** `countTotal` and the page flags run only when the client selects them (UserConnectionResolver, PageInfoResolver). */
export function toUserConnectionView(slice: UserSlice, countTotal: () => Promise<UserTotal>): UserConnection {
  const edges = slice.rows.map((r) => Object.assign(new UserEdge(), { cursor: r.cursor, node: toUserView(r.user) }));
  const pageInfo = Object.assign(new PageInfo(), {
    hasNextPage: slice.hasNextPage,
    hasPreviousPage: slice.hasPreviousPage,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
  });
  return Object.assign(new UserConnection(), { edges, pageInfo, countTotal });
}

export function toUserStatisticsView(stats: UserStats): UserStatistics {
  return Object.assign(new UserStatistics(), {
    total: stats.total,
    active: stats.active,
    inactive: stats.inactive,
    deleted: stats.deleted,
    verified: stats.verified,
    unverified: stats.unverified,
    byRole: stats.byRole.map((r) => Object.assign(new RoleCount(), { role: r.role, count: r.count })),
    activeLast24h: stats.activeLast24h,
    activeLast7d: stats.activeLast7d,
    activeLast30d: stats.activeLast30d,
    newLast7d: stats.newLast7d,
    newLast30d: stats.newLast30d,
  });
}

export const toDailyCountView = (day: DayCount): DailyCount => Object.assign(new DailyCount(), { date: day.date, count: day.count });

export function toAuditEventView(row: AuditEventRow): AuditEvent {
  return Object.assign(new AuditEvent(), {
    id: row.id,
    at: row.at,
    action: row.action,
    actorId: row.actorId,
    targetId: row.targetId,
    ip: row.ip,
    details: row.details,
  });
}

export function toAuditEventPageView(page: Page<AuditEventRow>): AuditEventPage {
  return Object.assign(new AuditEventPage(), {
    items: page.rows.map(toAuditEventView),
    total: page.total,
    page: page.page,
    size: page.size,
    pages: page.pages,
  });
}

export function toBulkResultView(result: BulkResult): BulkUsersResult {
  return Object.assign(new BulkUsersResult(), {
    operation: result.operation,
    requested: result.requested,
    succeeded: result.succeeded,
    failed: result.failed.map((f) => Object.assign(new BulkFailure(), { id: f.id, code: f.code, message: f.message })),
    dryRun: result.dryRun,
    bulkId: result.bulkId,
  });
}
