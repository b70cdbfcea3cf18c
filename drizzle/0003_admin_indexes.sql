-- Admin user search and sorting (written by hand: expression indexes with operator classes).
-- Substring search: trigram GIN indexes on the lower-cased columns, used by LIKE '%term%'.
CREATE INDEX IF NOT EXISTS "users_email_trgm_idx" ON "users" USING gin (lower("email"::text) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_full_name_trgm_idx" ON "users" USING gin (lower("full_name") gin_trgm_ops);--> statement-breakpoint
-- Queries of 1-2 characters have no trigram: they match prefixes through these instead.
CREATE INDEX IF NOT EXISTS "users_email_prefix_idx" ON "users" USING btree (lower("email"::text) text_pattern_ops);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_full_name_prefix_idx" ON "users" USING btree (lower("full_name") text_pattern_ops);--> statement-breakpoint
-- One (sort key, id) index per sort field: ordered pages and keyset cursors read them directly.
CREATE INDEX IF NOT EXISTS "users_created_at_id_idx" ON "users" USING btree ("created_at", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_email_id_idx" ON "users" USING btree ("email", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_full_name_id_idx" ON "users" USING btree (lower("full_name"), "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_last_login_id_idx" ON "users" USING btree (coalesce("last_login_at", '-infinity'::timestamptz), "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_role_id_idx" ON "users" USING btree ("role", "id");--> statement-breakpoint
-- Statistics: activity windows by last login.
CREATE INDEX IF NOT EXISTS "users_last_login_at_idx" ON "users" USING btree ("last_login_at");
