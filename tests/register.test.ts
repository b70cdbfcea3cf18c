import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { users } from "../src/db/schema.js";
import { auditRows } from "./support/audit.js";
import { backend } from "./support/database.js";
import { REGISTER, onlyError } from "./support/flows.js";
import { STRONG_PASSWORD, startTestServer, uniqueEmail, type TestServer } from "./support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe("register", () => {
  it("creates a USER with a trimmed, case-folded email and writes an audit event", async () => {
    const email = uniqueEmail("Mixed.Case");
    const res = await t.gql<{ register: Record<string, unknown> }>(REGISTER, {
      input: { email: `  ${email.toUpperCase()}  `, password: STRONG_PASSWORD, fullName: "  Ada Lovelace " },
    });
    expect(res.body.errors).toBeUndefined();
    const user = res.body.data!.register;
    expect(user).toMatchObject({ email: email.toLowerCase(), fullName: "Ada Lovelace", role: "USER", isActive: true, emailVerified: false });
    const [row] = await t.deps.db.select().from(users).where(eq(users.id, user["id"] as string));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    const events = await auditRows(t, { targetId: user["id"] as string });
    expect(events.map((e) => e.action)).toEqual(["user.registered"]);
  });

  it("refuses an address already taken, whatever its case", async () => {
    const email = uniqueEmail();
    await t.gql(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "First" } });
    const res = await t.gql(REGISTER, { input: { email: email.toUpperCase(), password: STRONG_PASSWORD, fullName: "Second" } });
    expect(onlyError(res).extensions.code).toBe("CONFLICT");
  });

  // PGlite runs one transaction at a time, so there the eight inserts are simply sequential (the test
  // above): only PostgreSQL lets them race for the unique index.
  it.runIf(backend === "postgres")("lets exactly one of 8 concurrent registrations of one email through (PostgreSQL)", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.gql(REGISTER, { input: { email: i % 2 ? email.toUpperCase() : email, password: STRONG_PASSWORD, fullName: `Racer ${i}` } }),
      ),
    );
    const ok = results.filter((r) => r.body.data?.register);
    const conflicts = results.filter((r) => r.body.errors?.[0]?.extensions.code === "CONFLICT");
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(7);
    const rows = await t.deps.db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);
  });
});
