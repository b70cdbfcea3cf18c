DROP INDEX "users_active_admins_idx";--> statement-breakpoint
CREATE INDEX "users_admins_idx" ON "users" USING btree ("id") WHERE "users"."role" = 'ADMIN';--> statement-breakpoint
-- Room on each page for the new version of an updated row, so that updates of unindexed columns
-- (is_active, deleted_at, the failed-login counter, updated_at) stay on the page as HOT updates. Applies to
-- pages written from now on; VACUUM FULL users rewrites existing ones.
ALTER TABLE "users" SET (fillfactor = 85);
