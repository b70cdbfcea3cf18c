import { and, eq, gt, isNotNull, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { sessions, users } from "../db/schema.js";
import { rateLimitAddress } from "../lib/ip.js";
import { emailKeyPart } from "../rate-limit/keys.js";
import type { Deps, RequestMeta } from "../deps.js";

/** How long a successful login makes its client address "known" to the account. */
const KNOWN_ADDRESS_DAYS = 30;
/** Enough distinct addresses for any real owner; bounds the (rare) lookup. */
const KNOWN_ADDRESS_SCAN = 1000;

/**
 * Whether the account with this email opened a session from `ip` (IPv6: from its /64) in the last 30
 * days. Sessions are never deleted (only revoked), so every successful login in the window is there.
 * One indexed query (sessions by user and created_at), the same for an unknown email (it finds nothing).
 */
export async function isKnownAddress(db: Queryable, email: string, ip: string | null): Promise<boolean> {
  if (!ip) return false;
  const rows = await db
    .selectDistinct({ ip: sessions.ip })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(users.email, email),
        gt(sessions.createdAt, sql`now() - make_interval(days => ${KNOWN_ADDRESS_DAYS})`),
        isNotNull(sessions.ip),
      ),
    )
    .limit(KNOWN_ADDRESS_SCAN);
  const client = rateLimitAddress(ip);
  return rows.some((row) => row.ip !== null && rateLimitAddress(row.ip) === client);
}

/**
 * The per-account login limit (`loginAccount`, API.md §5), charged by the service once the input is
 * valid, right before the password check: input that fails validation never counts against an
 * account (else 30 empty passwords from 30 addresses would lock the owner out). An address the account
 * logged in from in the last 30 days is not subject to it; it is looked up only when the limit refuses,
 * so an ordinary login costs one counter and no query. Throws RATE_LIMITED otherwise.
 *
 * A refusal here does not give back the caller's address limits (`login`, `loginIp`): the attempt was
 * made from that address. The windows roll, so no lockout lasts longer than one window.
 */
export async function chargeAccountLimit(deps: Pick<Deps, "db" | "rateLimiter">, email: string, meta: RequestMeta): Promise<void> {
  await deps.rateLimiter.check("loginAccount", emailKeyPart(email), { exempt: () => isKnownAddress(deps.db, email, meta.ip) });
}
