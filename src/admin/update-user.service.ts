import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { revokeUserSessions } from "../auth/sessions.service.js";
import { rethrowEmailTaken } from "../users/email-taken.js";
import { users, type UserRow } from "../db/schema.js";
import { ALL_EMAIL_TOKEN_KINDS, deleteUnusedEmailTokens } from "../email/email-tokens.js";
import { forbidden, notFound } from "../errors.js";
import { emailSchema, fullNameSchema, parseId, parseInput } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { isActiveAdmin, lockUserById, otherActiveAdminExists } from "../users/users.repo.js";
import { lockAsActingAdmin } from "./acting-admin.js";
import type { UpdateUserInput } from "./admin.types.js";

const updateSchema = z.object({
  fullName: fullNameSchema.nullish(),
  email: emailSchema.nullish(),
  role: z.enum(["USER", "ADMIN"]).nullish(),
  isActive: z.boolean().nullish(),
  emailVerified: z.boolean().nullish(),
});

type Snapshot = Pick<UserRow, "fullName" | "email" | "role" | "isActive" | "emailVerified">;
const snapshot = (u: Snapshot): Snapshot => ({
  fullName: u.fullName,
  email: u.email,
  role: u.role,
  isActive: u.isActive,
  emailVerified: u.emailVerified,
});

/**
 * An admin's change to a user. Admins cannot demote or deactivate themselves, and no change may leave
 * zero active admins: the admin-invariant lock is taken first, so two admins demoting each other at
 * once cannot both succeed. Deactivation ends the user's sessions; role and status act at the user's
 * next request. An email set here applies at once (and must be free). Audited with before and after.
 */
export async function updateUser(
  deps: Pick<Deps, "db">,
  actor: UserRow,
  rawId: string,
  input: UpdateUserInput,
  meta: RequestMeta,
): Promise<UserRow> {
  const id = parseId(rawId);
  const changes = parseInput(updateSchema, input);
  const isSelf = id === actor.id;
  if (isSelf && changes.role === "USER") throw forbidden("You cannot remove your own admin role");
  if (isSelf && changes.isActive === false) throw forbidden("You cannot deactivate yourself; use deactivateMe");

  try {
    return await deps.db.transaction(async (tx) => {
      await lockAsActingAdmin(tx, actor.id);
      const before = await lockUserById(tx, id);
      if (!before) throw notFound("No such user");

      const set: Partial<typeof users.$inferInsert> = {};
      if (changes.fullName != null && changes.fullName !== before.fullName) set.fullName = changes.fullName;
      if (changes.role != null && changes.role !== before.role) set.role = changes.role;
      if (changes.isActive != null && changes.isActive !== before.isActive) set.isActive = changes.isActive;
      if (changes.email != null && changes.email !== before.email) {
        set.email = changes.email;
        set.pendingEmail = null;
        // A verification of the old address says nothing about the new one, unless the admin says so.
        set.emailVerified = changes.emailVerified ?? false;
      }
      if (changes.emailVerified != null && changes.emailVerified !== before.emailVerified) set.emailVerified = changes.emailVerified;
      if (Object.keys(set).length === 0) return before;

      const staysActiveAdmin = (set.role ?? before.role) === "ADMIN" && (set.isActive ?? before.isActive) && !before.deletedAt;
      if (isActiveAdmin(before) && !staysActiveAdmin && !(await otherActiveAdminExists(tx, [before.id]))) {
        throw forbidden("This is the last active admin: make another admin first");
      }

      const [after] = await tx
        .update(users)
        .set({ ...set, updatedAt: sql`now()` })
        .where(eq(users.id, id))
        .returning();
      if (set.isActive === false) await revokeUserSessions(tx, id, "deactivated_by_admin");
      if (set.email) {
        await deleteUnusedEmailTokens(tx, id, ALL_EMAIL_TOKEN_KINDS);
      }
      await recordAudit(tx, {
        action: "admin.user_updated",
        actorId: actor.id,
        targetId: id,
        ip: meta.ip,
        details: { before: snapshot(before), after: snapshot(after!), changed: Object.keys(set) },
      });
      return after!;
    });
  } catch (err) {
    rethrowEmailTaken(err);
  }
}
