-- Unsent outbox rows (PENDING and FAILED) by status and age, for the /metrics gauges. Every scrape counted
-- the whole email_outbox table, which keeps every sent email; this partial index holds only the rows not
-- yet sent or given up, so a scrape reads a handful of index entries however large the table grows.
CREATE INDEX "email_outbox_unsent_idx" ON "email_outbox" USING btree ("status","created_at") WHERE "email_outbox"."status" in ('PENDING', 'FAILED');
