import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../db/client.js";
import { rowsOf } from "../db/client.js";
import { parseInput } from "../lib/validation.js";

/** The counts of userStats (every count but `deleted` excludes deleted users). */
export interface UserStats {
  total: number;
  active: number;
  inactive: number;
  deleted: number;
  verified: number;
  unverified: number;
  byRole: Array<{ role: "USER" | "ADMIN"; count: number }>;
  activeLast24h: number;
  activeLast7d: number;
  activeLast30d: number;
  newLast7d: number;
  newLast30d: number;
}

export interface DayCount {
  /** YYYY-MM-DD (UTC) */
  date: string;
  count: number;
}

interface Totals {
  total: number;
  active: number;
  inactive: number;
  deleted: number;
  verified: number;
  unverified: number;
  active_24h: number;
  active_7d: number;
  active_30d: number;
  new_7d: number;
  new_30d: number;
  admins: number;
}

/**
 * Every count in one pass over users (FILTER aggregates); byRole comes from the same pass, since
 * there are two roles. Counts other than `deleted` exclude deleted users.
 */
export async function userStatistics(db: Queryable): Promise<UserStats> {
  const [t] = rowsOf<Totals>(
    await db.execute(sql`
      select
        count(*) filter (where deleted_at is null)::int as total,
        count(*) filter (where deleted_at is null and is_active)::int as active,
        count(*) filter (where deleted_at is null and not is_active)::int as inactive,
        count(*) filter (where deleted_at is not null)::int as deleted,
        count(*) filter (where deleted_at is null and email_verified)::int as verified,
        count(*) filter (where deleted_at is null and not email_verified)::int as unverified,
        count(*) filter (where deleted_at is null and last_login_at > now() - interval '24 hours')::int as active_24h,
        count(*) filter (where deleted_at is null and last_login_at > now() - interval '7 days')::int as active_7d,
        count(*) filter (where deleted_at is null and last_login_at > now() - interval '30 days')::int as active_30d,
        count(*) filter (where deleted_at is null and created_at > now() - interval '7 days')::int as new_7d,
        count(*) filter (where deleted_at is null and created_at > now() - interval '30 days')::int as new_30d,
        count(*) filter (where deleted_at is null and role = 'ADMIN')::int as admins
      from users
    `),
  );
  const v = t!;
  return {
    total: v.total,
    active: v.active,
    inactive: v.inactive,
    deleted: v.deleted,
    verified: v.verified,
    unverified: v.unverified,
    byRole: [
      { role: "ADMIN", count: v.admins },
      { role: "USER", count: v.total - v.admins },
    ],
    activeLast24h: v.active_24h,
    activeLast7d: v.active_7d,
    activeLast30d: v.active_30d,
    newLast7d: v.new_7d,
    newLast30d: v.new_30d,
  };
}

const daysSchema = z.object({ days: z.number().int().min(1, "days must be from 1 to 365").max(365, "days must be from 1 to 365") });

/** Registrations of users that are not deleted, per UTC day, oldest first, one entry per day (zeros too). */
export async function registrationsPerDay(db: Queryable, rawDays: number): Promise<DayCount[]> {
  const { days } = parseInput(daysSchema, { days: rawDays });
  const rows = rowsOf<{ day: string; count: number }>(
    await db.execute(sql`
      with bounds as (select (now() at time zone 'UTC')::date as today)
      select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(c.count, 0)::int as count
      from bounds,
        generate_series(bounds.today - (${days}::int - 1), bounds.today, interval '1 day') as d(day)
        left join (
          select (created_at at time zone 'UTC')::date as day, count(*) as count
          from users, bounds
          where deleted_at is null
            and created_at >= (bounds.today - (${days}::int - 1))::timestamp at time zone 'UTC'
          group by 1
        ) c on c.day = d.day::date
      order by d.day
    `),
  );
  return rows.map((r) => ({ date: r.day, count: Number(r.count) }));
}
