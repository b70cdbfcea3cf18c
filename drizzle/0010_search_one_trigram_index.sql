-- Substring search through one trigram index instead of two (written by hand: an expression index with an
-- operator class). Its text is the lower-cased email and full name joined by U+0001, which no search term
-- reaches across (see userWhere): one bitmap scan serves both columns, where the two indexes each found a row
-- matching in both and a BitmapOr merged them, and the recheck evaluates one pattern instead of two. It also
-- means one GIN index to update instead of two on every new row version. No pending list, as 0005 explains.
CREATE INDEX IF NOT EXISTS "users_search_trgm_idx" ON "users" USING gin ((lower("email"::text) || U&'\0001' || lower("full_name")) gin_trgm_ops) WITH (fastupdate = off);--> statement-breakpoint
DROP INDEX IF EXISTS "users_email_trgm_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "users_full_name_trgm_idx";
--> statement-breakpoint
-- The words of the same two columns (runs of a-z and 0-9), for a term with a whole word or a word's start in it
-- (see requiredWords): a trigram of a rare word is still in thousands of rows at 1M users, the word in one.
CREATE INDEX IF NOT EXISTS "users_search_words_idx" ON "users" USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower("email"::text) || ' ' || lower("full_name"), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
