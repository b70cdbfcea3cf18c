-- Trigram indexes without a pending list. Every login updates last_login_at, which is indexed, so the row
-- gets a new version and a new entry in every users index, the two GIN indexes included. With fastupdate
-- those entries wait in a pending list that every substring search scans in full until VACUUM merges it
-- (at 1M users: 1,500 logins added 91 pending pages and ~1-3 ms to each search). Inserting them directly
-- cost 4% more time over those 1,500 updates. VACUUM users merges a list left from before.
ALTER INDEX "users_email_trgm_idx" SET (fastupdate = off);--> statement-breakpoint
ALTER INDEX "users_full_name_trgm_idx" SET (fastupdate = off);
