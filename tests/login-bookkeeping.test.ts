import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eq, sql } from "drizzle-orm";
import { openPasswordLogin } from "../src/auth/login-session.js";
import { rowsOf, type Queryable } from "../src/db/client.js";
import { users } from "../src/db/schema.js";
import { loginCalls } from "./support/login.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { onlyError } from "./support/flows.js";
import { OTHER_STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

/*
 * Migration 0011: a login's update of users is HOT (no users index names a column it writes), and the
 * LAST_LOGIN_AT order lives in user_login_order, which two triggers keep equal to users.last_login_at.
 */

let testDb: TestDatabase;
let t: TestServer;
let statements: string[] = [];
beforeAll(async () => {
  testDb = await createTestDatabase({ onQuery: (text) => statements.push(text) });
  t = await startTestServer({ testDb, outboxWorker: false });
});
afterAll(async () => {
  await t?.close();
  await testDb?.drop();
});

const { registerOnly, login, sessionCount } = loginCalls(() => t);

/** The statements `call` sends to the database, and the transactions the login code opens meanwhile. */
async function sentBy(call: () => Promise<unknown>): Promise<{ statements: string[]; transactions: number }> {
  const fromLogin = () => /auth[\\/](auth\.service|login-session)\.[jt]s/.test(new Error().stack ?? "");
  const db = t.deps.db;
  const transaction = db.transaction.bind(db);
  let transactions = 0;
  const spy = vi.spyOn(db, "transaction").mockImplementation(((...args: Parameters<typeof db.transaction>) => {
    if (fromLogin()) transactions += 1;
    return transaction(...args);
  }) as typeof db.transaction);
  statements = [];
  try {
    await call();
    return { statements, transactions };
  } finally {
    spy.mockRestore();
  }
}

/** Updates of a table in the current transaction, and how many of them were HOT (this backend's counters). */
async function updatesOf(db: Queryable, table: string): Promise<{ updated: number; hot: number }> {
  const [row] = rowsOf<{ updated: string; hot: string }>(
    await db.execute(sql`select pg_stat_get_xact_tuples_updated(${table}::regclass) as updated,
      pg_stat_get_xact_tuples_hot_updated(${table}::regclass) as hot`),
  );
  return { updated: Number(row!.updated), hot: Number(row!.hot) };
}

/** The user's key in user_login_order: "-infinity", or epoch milliseconds as text; null when there is no row. */
async function orderKeyOf(userId: string): Promise<string | null> {
  const [row] = rowsOf<{ key: string }>(
    await t.deps.db.execute(sql`
      select case when isfinite(last_login_at) then floor(extract(epoch from last_login_at) * 1000)::bigint::text
        else last_login_at::text end as key
      from user_login_order where user_id = ${userId}`),
  );
  return row?.key ?? null;
}

/** Users whose user_login_order row is missing or differs from users.last_login_at (always none). */
async function outOfOrder(): Promise<number> {
  const [row] = rowsOf<{ n: string }>(
    await t.deps.db.execute(sql`
      select count(*) as n from users u left join user_login_order o on o.user_id = u.id
      where o.user_id is null or o.last_login_at <> coalesce(u.last_login_at, '-infinity'::timestamptz)`),
  );
  return Number(row!.n);
}

describe("login bookkeeping", () => {
  it("writes a login (bookkeeping, session, refresh token, audit event) in one statement after the lookup, no transaction", async () => {
    const account = await registerOnly();
    const wrong = await registerOnly();
    const ok = await sentBy(async () => expect((await login(account.email, account.password)).body.errors).toBeUndefined());
    expect(ok.transactions).toBe(0);
    expect(ok.statements).toHaveLength(2);
    expect(ok.statements[0]).toMatch(/^select .* from "users" where "users"."email" = \$1/);
    expect(ok.statements[1]).toMatch(/^\s*with u as \(\s*update users\s+set login_count = login_count \+ 1/);
    // A wrong password: the counter and its audit event, one statement too.
    const bad = await sentBy(async () => expect(onlyError(await login(wrong.email, OTHER_STRONG_PASSWORD)).extensions.code).toBe("UNAUTHENTICATED"));
    expect(bad.transactions).toBe(0);
    expect(bad.statements).toHaveLength(2);
    expect(bad.statements[1]).toMatch(/^\s*with u as \(\s*update users set failed_logins_since_last_login/);
    expect(await sessionCount(account.id)).toBe(1);
    expect(await sessionCount(wrong.id)).toBe(0);
  });

  it("updates the users row as a HOT update: no users index names a column a login writes", async () => {
    const account = await registerOnly();
    const counts = await t.deps.db.transaction(async (tx) => {
      const before = await updatesOf(tx, "users");
      const opened = await openPasswordLogin(tx, 3600, account.id, { requestId: "test", ip: "127.0.0.1", userAgent: "test" });
      expect(opened?.user.loginCount).toBe(1);
      const after = await updatesOf(tx, "users");
      return { updated: after.updated - before.updated, hot: after.hot - before.hot };
    });
    expect(counts).toEqual({ updated: 1, hot: 1 });
  });

  it("keeps user_login_order equal to users.last_login_at: register, login, any other writer, several users at once", async () => {
    const account = await registerOnly();
    expect(await orderKeyOf(account.id)).toBe("-infinity");

    expect((await login(account.email, account.password)).body.errors).toBeUndefined();
    const [afterLogin] = await t.deps.db.select().from(users).where(eq(users.id, account.id));
    expect(afterLogin!.lastLoginAt).not.toBeNull();
    expect(await orderKeyOf(account.id)).toBe(String(afterLogin!.lastLoginAt!.getTime()));

    // Another writer of the column (an import, an operator's fix) moves the row too; null sorts as never.
    const at = new Date("2020-02-02T02:02:02.000Z");
    await t.deps.db.update(users).set({ lastLoginAt: at }).where(eq(users.id, account.id));
    expect(await orderKeyOf(account.id)).toBe(String(at.getTime()));
    await t.deps.db.update(users).set({ lastLoginAt: null }).where(eq(users.id, account.id));
    expect(await orderKeyOf(account.id)).toBe("-infinity");

    // One statement inserting several users: each gets its row.
    const emails = [uniqueEmail("bulk"), uniqueEmail("bulk"), uniqueEmail("bulk")];
    const inserted = await t.deps.db
      .insert(users)
      .values(emails.map((email, i) => ({ email, fullName: `Bulk ${i}`, passwordHash: null, lastLoginAt: i === 0 ? at : null })))
      .returning({ id: users.id });
    expect(await Promise.all(inserted.map((u) => orderKeyOf(u.id)))).toEqual([String(at.getTime()), "-infinity", "-infinity"]);

    // A user removed for good takes its row along.
    await t.deps.db.delete(users).where(eq(users.id, inserted[2]!.id));
    expect(await orderKeyOf(inserted[2]!.id)).toBeNull();
    expect(await outOfOrder()).toBe(0);
  });
});
