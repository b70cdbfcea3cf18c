import type { Tx } from "../db/client.js";
import { forbidden } from "../errors.js";
import { findUserById, isActiveAdmin, lockAdminInvariant } from "../users/users.repo.js";

/**
 * The first step of every admin change that can remove an admin: takes the admin-invariant lock, then
 * re-checks the caller under it, so an admin demoted or deactivated a moment ago acts no more.
 */
export async function lockAsActingAdmin(tx: Tx, actorId: string): Promise<void> {
  await lockAdminInvariant(tx);
  const caller = await findUserById(tx, actorId);
  if (!caller || !isActiveAdmin(caller)) throw forbidden("This operation requires the ADMIN role");
}
