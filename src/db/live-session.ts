import { sql } from "drizzle-orm";
import { sessions } from "./schema.js";

/**
 * Whether a session is live: neither revoked nor expired, and not a pending session (waiting for its
 * second factor) whose five minutes are over. The one definition every session read uses, so a lapsed
 * pending session is dead everywhere at once: authentication, refresh, mySessions, the counts.
 */
export const sessionIsLive = sql<boolean>`(${sessions.revokedAt} is null and ${sessions.expiresAt} > now()
  and (${sessions.mfaPendingUntil} is null or ${sessions.mfaPendingUntil} > now()))`;
