import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresClientOf } from "../src/db/client.js";
import { users } from "../src/db/schema.js";
import { findUserByEmail } from "../src/users/users.repo.js";
import { backend } from "./support/database.js";
import { signUp, type TestUser } from "./support/flows.js";
import { startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

/*
 * Login's first read, the user by email: on PostgreSQL the pool's Db runs it on postgres.js directly with
 * its own row decoder, a transaction (and PGlite) through drizzle. Both give the row drizzle's select gives.
 */
let t: TestServer;
let user: TestUser;

beforeAll(async () => {
  t = await startTestServer({ outboxWorker: false });
  user = await signUp(t);
  // Nullable columns set, so the decoder meets a value in each (timestamps as Date, not text).
  await t.deps.db
    .update(users)
    .set({ lastLoginAt: sql`now() - interval '1 day'`, deletedAt: sql`now()`, loginCount: 7 })
    .where(eq(users.id, user.id));
});
afterAll(async () => {
  await t?.close();
});

describe("findUserByEmail", () => {
  it("reads the whole row exactly as drizzle maps it, from the pool and inside a transaction", async () => {
    expect(postgresClientOf(t.deps.db) !== undefined).toBe(backend === "postgres");
    const [expected] = await t.deps.db.select().from(users).where(eq(users.id, user.id));
    const found = await findUserByEmail(t.deps.db, user.email);
    expect(found).toEqual(expected);
    expect(found!.deletedAt).toBeInstanceOf(Date);
    expect(found!.createdAt).toBeInstanceOf(Date);
    // Twice: the prepared statement is reused.
    expect(await findUserByEmail(t.deps.db, user.email)).toEqual(expected);
    const inTx = await t.deps.db.transaction((tx) => findUserByEmail(tx, user.email));
    expect(inTx).toEqual(expected);
  });

  it("null for an address no account has", async () => {
    expect(await findUserByEmail(t.deps.db, uniqueEmail())).toBeNull();
  });
});
