-- citext: case-insensitive emails (one account per address); pg_trgm: substring search over users.
-- PGlite loads both from @electric-sql/pglite/contrib; PostgreSQL needs postgresql-contrib.
CREATE EXTENSION IF NOT EXISTS citext;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS pg_trgm;
