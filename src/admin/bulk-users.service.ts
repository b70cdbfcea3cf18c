import { randomUUID } from "node:crypto";
import { inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Tx } from "../db/client.js";
import { recordAudits } from "../audit/audit.service.js";
import { revokeSessions } from "../auth/sessions.service.js";
import { users, type UserRow } from "../db/schema.js";
import { forbidden } from "../errors.js";
import { parseInput, uuidSchema } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { isActiveAdmin, otherActiveAdminExists } from "../users/users.repo.js";
import { lockAsActingAdmin } from "./acting-admin.js";
import type { BulkOperation, BulkUsersInput } from "./admin.types.js";

export const BULK_MAX_IDS = 1000;

const bulkSchema = z
  .object({
    userIds: z
      .array(uuidSchema)
      .min(1, "Give at least one id")
      .max(BULK_MAX_IDS, `At most ${BULK_MAX_IDS} ids per request`),
    operation: z.enum(["ACTIVATE", "DEACTIVATE", "DELETE", "RESTORE", "UPDATE_ROLE"]),
    role: z.enum(["USER", "ADMIN"]).nullish(),
    dryRun: z.boolean().nullish(),
  })
  .refine((v) => v.operation !== "UPDATE_ROLE" || v.role != null, { path: ["role"], message: "UPDATE_ROLE needs a role" });

export interface BulkFailureResult {
  id: string;
  code: string;
  message: string;
}

/** What bulkUsers did (or, for a dry run, would do), id by id. */
export interface BulkResult {
  operation: BulkOperation;
  requested: number;
  succeeded: string[];
  failed: BulkFailureResult[];
  dryRun: boolean;
  /** Groups the run's audit events; null for a dry run. */
  bulkId: string | null;
}

type Target = Pick<UserRow, "id" | "role" | "isActive" | "deletedAt">;
type Verdict = { ok: true } | { ok: false; code: string; message: string };

/** What the operation would do to one user, before the last-admin rule. */
function judge(op: BulkOperation, role: "USER" | "ADMIN" | null | undefined, u: Target): Verdict {
  const fail = (code: string, message: string): Verdict => ({ ok: false, code, message });
  if (op === "RESTORE") return u.deletedAt ? { ok: true } : fail("NOT_DELETED", "User is not deleted");
  if (u.deletedAt) return fail("ALREADY_DELETED", "User is deleted; RESTORE it first");
  switch (op) {
    case "DELETE":
      return { ok: true };
    case "ACTIVATE":
      return u.isActive ? fail("ALREADY_ACTIVE", "User is already active") : { ok: true };
    case "DEACTIVATE":
      return u.isActive ? { ok: true } : fail("ALREADY_INACTIVE", "User is already inactive");
    case "UPDATE_ROLE":
      return u.role === role ? fail("ALREADY_HAS_ROLE", `User already has role ${role}`) : { ok: true };
  }
}

/** Does applying `op` take this user out of the active admins? */
function removesAdmin(op: BulkOperation, role: "USER" | "ADMIN" | null | undefined): boolean {
  return op === "DEACTIVATE" || op === "DELETE" || (op === "UPDATE_ROLE" && role === "USER");
}

/**
 * One transaction, a fixed number of statements whatever the number of ids: take the admin-invariant
 * lock (lockAsActingAdmin), row-lock the targets, decide per id, then one UPDATE, one session revocation
 * and one multi-row audit insert. A dry run takes the same locks and decisions and writes nothing.
 */
export async function bulkUsers(
  deps: Pick<Deps, "db">,
  actor: UserRow,
  input: BulkUsersInput,
  meta: RequestMeta,
): Promise<BulkResult> {
  const { userIds, operation, role, dryRun } = parseInput(bulkSchema, input);
  const ids = [...new Set(userIds.map((id) => id.toLowerCase()))];
  if (ids.includes(actor.id)) throw forbidden("Your own id is in the list: change your own account through updateMe or deactivateMe");

  return deps.db.transaction(async (tx) => {
    await lockAsActingAdmin(tx, actor.id);
    const found = await tx
      .select({ id: users.id, role: users.role, isActive: users.isActive, deletedAt: users.deletedAt })
      .from(users)
      .where(inArray(users.id, ids))
      .orderBy(users.id)
      .for("update");
    const byId = new Map(found.map((u) => [u.id, u]));

    const succeeded: string[] = [];
    const failed: BulkFailureResult[] = [];
    const fail = (id: string, code: string, message: string) => failed.push({ id, code, message });
    // Active admins this run would remove; if no active admin exists outside them, the last one stays.
    const removing = removesAdmin(operation, role) ? found.filter((u) => isActiveAdmin(u)).map((u) => u.id) : [];
    let adminsLeft = removing.length + ((await otherActiveAdminExists(tx, removing)) ? 1 : 0);
    const removingSet = new Set(removing);
    for (const id of ids) {
      const target = byId.get(id);
      if (!target) {
        fail(id, "NOT_FOUND", "No such user");
        continue;
      }
      const verdict = judge(operation, role, target);
      if (!verdict.ok) {
        fail(id, verdict.code, verdict.message);
        continue;
      }
      if (removingSet.has(id)) {
        // Keep at least one active admin: the change that would remove the last one is refused.
        if (adminsLeft <= 1) {
          fail(id, "LAST_ADMIN", "This would leave no active admin");
          continue;
        }
        adminsLeft -= 1;
      }
      succeeded.push(id);
    }

    const result: BulkResult = { operation, requested: ids.length, succeeded, failed, dryRun: dryRun === true, bulkId: null };
    if (dryRun) return result;

    const bulkId = randomUUID();
    if (succeeded.length > 0) await apply(tx, operation, role, succeeded);
    await recordAudits(tx, [
      {
        action: "admin.bulk",
        actorId: actor.id,
        ip: meta.ip,
        details: { bulkId, operation, role: role ?? null, ids, succeeded, failed: failed.map(({ id, code }) => ({ id, code })) },
      },
      ...succeeded.map((id) => ({
        action: "admin.bulk_user_changed" as const,
        actorId: actor.id,
        targetId: id,
        ip: meta.ip,
        details: { bulkId, operation, before: snapshot(byId.get(id)!), after: expected(operation, role, byId.get(id)!) },
      })),
    ]);
    return { ...result, bulkId };
  });
}

const snapshot = (u: Target) => ({ role: u.role, isActive: u.isActive, deleted: u.deletedAt !== null });

function expected(op: BulkOperation, role: "USER" | "ADMIN" | null | undefined, u: Target) {
  const s = snapshot(u);
  if (op === "ACTIVATE") return { ...s, isActive: true };
  if (op === "DEACTIVATE") return { ...s, isActive: false };
  if (op === "DELETE") return { ...s, deleted: true };
  if (op === "RESTORE") return { ...s, deleted: false };
  return { ...s, role: role! };
}

async function apply(tx: Tx, op: BulkOperation, role: "USER" | "ADMIN" | null | undefined, ids: string[]): Promise<void> {
  const set =
    op === "ACTIVATE"
      ? { isActive: true }
      : op === "DEACTIVATE"
        ? { isActive: false }
        : op === "DELETE"
          ? { deletedAt: sql`now()` }
          : op === "RESTORE"
            ? { deletedAt: null }
            : { role: role! };
  await tx.update(users).set({ ...set, updatedAt: sql`now()` }).where(inArray(users.id, ids));
  if (op === "DEACTIVATE" || op === "DELETE") {
    await revokeSessions(tx, { userIds: ids }, op === "DELETE" ? "deleted_by_admin" : "deactivated_by_admin");
  }
}
