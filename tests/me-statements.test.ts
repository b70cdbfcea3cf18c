import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLiveSession } from "../src/auth/sessions.service.js";
import { postgresClientOf } from "../src/db/client.js";
import { sessions, users } from "../src/db/schema.js";
import { backend, createTestDatabase, type TestDatabase } from "./support/database.js";
import { signUp, type TestUser } from "./support/flows.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { sessionIdOf } from "./support/sessions.js";

/*
 * What one authenticated request costs the database: the session and its user in one statement, read
 * on every request (no cache of role or status), plus the last_used_at write at most once a minute.
 */
const ME = "{ me { id email role } }";

let testDb: TestDatabase;
let t: TestServer;
let statements: string[] = [];
let user: TestUser;

beforeAll(async () => {
  testDb = await createTestDatabase({ onQuery: (text) => statements.push(text) });
  t = await startTestServer({ testDb, outboxWorker: false });
  user = await signUp(t);
});
afterAll(async () => {
  await t?.close();
  await testDb?.drop();
});

/** The statements one `me` sends. */
async function statementsOfMe(token: string): Promise<string[]> {
  statements = [];
  const res = await t.gql<{ me: { id: string } }>(ME, undefined, { token });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.me.id).toBe(user.id);
  return statements;
}

describe("an authenticated me", () => {
  it("runs one statement while the session was used within the last minute", async () => {
    const sent = await statementsOfMe(user.accessToken);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/from "sessions" inner join "users"/);
    // Again: the second request reads the database again (nothing is cached), still one statement.
    expect(await statementsOfMe(user.accessToken)).toHaveLength(1);
  });

  it("adds the last_used_at write once the session was idle for over a minute, then is back to one", async () => {
    await t.deps.db
      .update(sessions)
      .set({ lastUsedAt: sql`now() - interval '2 minutes'` })
      .where(eq(sessions.id, sessionIdOf(user.accessToken)));
    const sent = await statementsOfMe(user.accessToken);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/^update "sessions" set "last_used_at"/);
    expect(await statementsOfMe(user.accessToken)).toHaveLength(1);
  });

  it("reads the whole user row exactly as drizzle maps it (both drivers)", async () => {
    // On PostgreSQL the lookup runs on postgres.js directly, on PGlite through drizzle.
    expect(postgresClientOf(t.deps.db) !== undefined).toBe(backend === "postgres");
    const live = await loadLiveSession(t.deps.db, sessionIdOf(user.accessToken), user.id);
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, user.id));
    expect("user" in live && live.user).toEqual(row);
    expect("user" in live && live.user.createdAt).toBeInstanceOf(Date);
    expect(live).toMatchObject({ mfaPending: false, stale: false });
  });

  it("says SESSION_REVOKED for a session that is not this user's", async () => {
    const other = await signUp(t);
    expect(await loadLiveSession(t.deps.db, sessionIdOf(other.accessToken), user.id)).toEqual({ ended: "SESSION_REVOKED" });
  });
});
