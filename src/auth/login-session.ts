import { sql, type SQL } from "drizzle-orm";
import { executePrepared, type Queryable } from "../db/client.js";
import type { UserRow } from "../db/schema.js";
import { decodeUserRow } from "../db/user-row.js";
import type { RequestMeta } from "../deps.js";
import { generateOpaqueToken, hashToken } from "../lib/opaque-token.js";
import { MFA_PENDING_SECONDS, USER_AGENT_MAX } from "./sessions.service.js";

export interface OpenedLogin {
  user: UserRow;
  sessionId: string;
  /** In clear, once: only its hash is stored. */
  refreshToken: string;
  /** A TOTP user's password opens a pending session only: verifyMfa completes it (API.md §7). */
  mfaPending: boolean;
}

/**
 * The bookkeeping of a successful password check, in ONE statement (so one round trip and one implicit
 * transaction): the users row's login count, last login and failed-login reset, a session (pending its
 * second factor when the user has TOTP on) with its first refresh token, and the `user.login` audit event.
 * The UPDATE re-checks status: a deactivation that lands after the caller's read still wins, and then
 * the statement writes the `user.login_failed` (deactivated) event instead and returns null. Its row lock
 * orders this login against a deactivation as the multi-statement transaction did: one that commits first
 * is seen; one that comes later revokes the session this statement made. The TOTP read is in the
 * statement's snapshot: a reset or a disable that committed before it is what this login sees.
 */
export async function openPasswordLogin(
  db: Queryable,
  refreshTtl: number,
  userId: string,
  meta: RequestMeta,
  amr: readonly string[] = ["pwd"],
): Promise<OpenedLogin | null> {
  const refreshToken = generateOpaqueToken();
  const userAgent = meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null;
  // One parameter, so the statement's text is the same for every login (it is prepared once per connection).
  const amrArray: SQL = sql`${`{${amr.map((m) => JSON.stringify(m)).join(",")}}`}::text[]`;
  const rows = await executePrepared<Record<string, unknown>>(
    db,
    sql`
      with u as (
        update users
        set login_count = login_count + 1, last_login_at = now(), failed_logins_since_last_login = 0
        where id = ${userId} and is_active and deleted_at is null
        returning *
      ),
      m as (
        select exists (select 1 from user_mfa where user_id = ${userId} and totp_enabled_at is not null) as mfa_pending
      ),
      s as (
        insert into sessions (user_id, expires_at, ip, user_agent, amr, mfa_pending_until)
        select u.id, now() + make_interval(secs => ${refreshTtl}), ${meta.ip}, ${userAgent}, ${amrArray},
          case when m.mfa_pending then now() + make_interval(secs => ${MFA_PENDING_SECONDS}) end
        from u, m
        returning id
      ),
      r as (
        insert into refresh_tokens (token_hash, session_id) select ${hashToken(refreshToken)}, s.id from s
      ),
      a as (
        insert into audit_events (action, actor_id, target_id, ip, details)
        select 'user.login', u.id, u.id, ${meta.ip},
          jsonb_build_object('sessionId', s.id) || case when m.mfa_pending then '{"mfaPending": true}'::jsonb else '{}'::jsonb end
        from u, s, m
        union all
        select 'user.login_failed', null, ${userId}, ${meta.ip}, '{"reason": "deactivated"}'::jsonb
        where not exists (select 1 from u)
      )
      select u.*, s.id as gatehouse_session_id, m.mfa_pending as gatehouse_mfa_pending from u, s, m
    `,
  );
  const [raw] = rows;
  if (!raw) return null;
  return {
    user: decodeUserRow((name) => raw[name]),
    sessionId: String(raw["gatehouse_session_id"]),
    refreshToken,
    mfaPending: raw["gatehouse_mfa_pending"] === true,
  };
}

/** A wrong password: the failed-login counter and its `user.login_failed` event, in one statement. */
export async function recordWrongPassword(db: Queryable, userId: string, meta: RequestMeta): Promise<void> {
  await executePrepared(
    db,
    sql`
    with u as (
      update users set failed_logins_since_last_login = failed_logins_since_last_login + 1 where id = ${userId}
    )
    insert into audit_events (action, target_id, ip, details)
    values ('user.login_failed', ${userId}, ${meta.ip}, '{"reason": "wrong_password"}'::jsonb)
  `,
  );
}
