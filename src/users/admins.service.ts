import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { checkPasswordPolicy } from "../auth/password.js";
import { isUniqueViolation } from "../db/errors.js";
import { users, type UserRow } from "../db/schema.js";
import type { FieldError } from "../errors.js";
import { emailSchema, fullNameSchema, parseInput } from "../lib/validation.js";
import type { Deps } from "../server/deps.js";
import { findUserByEmail } from "./users.repo.js";

export interface NewAdmin {
  email: string;
  password: string;
  fullName: string;
}

const newAdminSchema = z.object({ email: emailSchema, fullName: fullNameSchema, password: z.string() });

export type CreateAdminResult = { status: "created"; user: UserRow } | { status: "exists"; user: UserRow };

/**
 * Creates an active, verified ADMIN; the password policy applies. An address that is already taken is
 * reported as "exists", never silently taken over. Throws BAD_USER_INPUT for a bad email, name or password.
 */
export async function createAdmin(
  deps: Pick<Deps, "db" | "hasher">,
  input: NewAdmin,
  source: "bootstrap" | "cli",
): Promise<CreateAdminResult> {
  const parsed = newAdminSchema.safeParse(input);
  const extra: FieldError[] = [];
  if (parsed.success) {
    const problem = await checkPasswordPolicy(parsed.data.password, "password", parsed.data);
    if (problem) extra.push(problem);
  }
  const { email, fullName, password } = parseInput(newAdminSchema, input, extra);

  const existing = await findUserByEmail(deps.db, email);
  if (existing) return { status: "exists", user: existing };

  const passwordHash = await deps.hasher.hash(password);
  try {
    return await deps.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(users)
        .values({ email, fullName, passwordHash, role: "ADMIN", emailVerified: true })
        .returning();
      await recordAudit(tx, { action: "admin.created", targetId: created!.id, details: { source } });
      return { status: "created" as const, user: created! };
    });
  } catch (err) {
    // Another instance bootstrapping the same admin at the same moment.
    if (isUniqueViolation(err, "users_email_key")) {
      const user = await findUserByEmail(deps.db, email);
      if (user) return { status: "exists", user };
    }
    throw err;
  }
}

/**
 * The operator's way to make an existing account an active admin (CLI --promote). Returns null when
 * no account has that address.
 */
export async function promoteToAdmin(deps: Pick<Deps, "db">, rawEmail: string): Promise<UserRow | null> {
  const { email } = parseInput(z.object({ email: emailSchema }), { email: rawEmail });
  return deps.db.transaction(async (tx) => {
    const [before] = await tx.select().from(users).where(eq(users.email, email)).for("update").limit(1);
    if (!before) return null;
    const [promoted] = await tx
      .update(users)
      .set({ role: "ADMIN", isActive: true, deletedAt: null, updatedAt: sql`now()` })
      .where(eq(users.id, before.id))
      .returning();
    await recordAudit(tx, {
      action: "admin.promoted",
      targetId: before.id,
      details: { source: "cli", before: { role: before.role, isActive: before.isActive, deleted: before.deletedAt !== null } },
    });
    return promoted!;
  });
}

export async function countActiveAdmins(deps: Pick<Deps, "db">): Promise<number> {
  const [row] = await deps.db
    .select({ n: sql<number>`count(*)::int` })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.isActive, true), isNull(users.deletedAt)));
  return row?.n ?? 0;
}
