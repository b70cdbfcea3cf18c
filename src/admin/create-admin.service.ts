import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { checkPasswordPolicy } from "../auth/password.js";
import { isEmailTaken } from "../users/email-taken.js";
import { users, type UserRow } from "../db/schema.js";
import { AppError, type FieldError } from "../errors.js";
import { emailSchema, fullNameSchema, parseInput } from "../lib/validation.js";
import type { Deps } from "../deps.js";
import { findUserByEmail } from "../users/users.repo.js";

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
    if (isEmailTaken(err)) {
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

/**
 * BOOTSTRAP_ADMIN_*: creates that admin when no active admin exists; a no-op on every later start.
 * An address that belongs to a non-admin account is never promoted this way (whoever registered it
 * first would become admin): that is a start-up error for the operator to resolve.
 */
export async function bootstrapAdmin(deps: Pick<Deps, "db" | "hasher" | "config" | "logger">): Promise<void> {
  const wanted = deps.config.bootstrapAdmin;
  if (!wanted || (await countActiveAdmins(deps)) > 0) return;
  let result;
  try {
    result = await createAdmin(deps, wanted, "bootstrap");
  } catch (err) {
    if (err instanceof AppError) {
      const fields = (err.extensions["fields"] as { field: string; message: string }[] | undefined) ?? [];
      const detail = fields.map((f) => `BOOTSTRAP_ADMIN_${f.field === "fullName" ? "NAME" : f.field.toUpperCase()}: ${f.message}`);
      throw new Error(`Invalid bootstrap admin: ${detail.join("; ") || err.message}`, { cause: err });
    }
    throw err;
  }
  if (result.status === "created") {
    deps.logger.info({ userId: result.user.id }, "bootstrap admin created");
  } else if (result.user.role !== "ADMIN") {
    throw new Error("BOOTSTRAP_ADMIN_EMAIL belongs to an existing non-admin account; promote it with `npm run cli -- create-admin --promote` instead");
  }
}
