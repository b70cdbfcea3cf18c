import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import { loadMfaStatuses, type MfaStatusRow } from "../auth/mfa/mfa.repo.js";
import { countActiveSessions } from "./users.repo.js";

/** Per-request batch loaders of the users feature: one query for every User selected in a response. */
export interface UserLoaders {
  readonly activeSessions: DataLoader<string, number>;
  /** User.mfa, and the REQUIRE_ADMIN_MFA check of the access layer. */
  readonly mfaStatus: DataLoader<string, MfaStatusRow>;
}

/** A fresh set per request (DataLoader caches for its own lifetime). */
export function createUserLoaders(db: Db): UserLoaders {
  return {
    activeSessions: new DataLoader(async (ids) => {
      const counts = await countActiveSessions(db, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    mfaStatus: new DataLoader(async (ids) => {
      const statuses = await loadMfaStatuses(db, ids);
      return ids.map((id) => statuses.get(id)!);
    }),
  };
}
