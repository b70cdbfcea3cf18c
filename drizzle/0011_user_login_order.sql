-- The LAST_LOGIN_AT sort order moves out of the users row into user_login_order, kept by two triggers, so
-- that a login's update of users is a HOT update. Before, last_login_at was in two users indexes (0003),
-- so every login wrote a new row version with an entry in all 13 users indexes, the two GIN search indexes
-- among them (at 50k users: 242 buffers, 52 WAL records and 1.5 ms for the update alone). No users index now
-- names a column a login writes (login_count, last_login_at, failed_logins_since_last_login), and the
-- fillfactor of 0004 leaves room on the page for the new version; the order moves in this two-index table.
-- users.last_login_at stays the value every read uses; user_login_order holds it (never null: '-infinity'
-- for a user who never logged in, the key the sort always used) for the ordered walks of users and
-- usersConnection.
CREATE TABLE "user_login_order" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"last_login_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- An insert into users adds each new user's row, once per statement (a bulk insert joins its rows at once).
CREATE FUNCTION "users_login_order_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "user_login_order" ("user_id", "last_login_at")
    SELECT "id", coalesce("last_login_at", '-infinity'::timestamptz) FROM "inserted";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "users_login_order_insert" AFTER INSERT ON "users" REFERENCING NEW TABLE AS "inserted"
  FOR EACH STATEMENT EXECUTE FUNCTION "users_login_order_insert"();
--> statement-breakpoint
-- An update that changes last_login_at (a login, or any other writer) moves the user's row.
CREATE FUNCTION "users_login_order_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "user_login_order" SET "last_login_at" = coalesce(NEW."last_login_at", '-infinity'::timestamptz)
    WHERE "user_id" = NEW."id";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "users_login_order_update" AFTER UPDATE OF "last_login_at" ON "users"
  FOR EACH ROW WHEN (OLD."last_login_at" IS DISTINCT FROM NEW."last_login_at")
  EXECUTE FUNCTION "users_login_order_update"();
--> statement-breakpoint
-- The triggers' lock keeps writers of users out until this migration commits, so the copy is complete.
INSERT INTO "user_login_order" ("user_id", "last_login_at")
  SELECT "id", coalesce("last_login_at", '-infinity'::timestamptz) FROM "users";
--> statement-breakpoint
ALTER TABLE "user_login_order" ADD CONSTRAINT "user_login_order_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "user_login_order_key_idx" ON "user_login_order" USING btree ("last_login_at","user_id");--> statement-breakpoint
DROP INDEX IF EXISTS "users_last_login_id_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "users_last_login_at_idx";
