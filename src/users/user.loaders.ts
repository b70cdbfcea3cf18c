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

/**
 * A fresh set per request (DataLoader caches for its own lifetime), each loader built on first use: most
 * requests (me, login, refresh) select no batched field. The getters are on this object, not on the
 * context, because Apollo copies the context with Object.assign, which would call a getter there.
 */
export function createUserLoaders(db: Db): UserLoaders {
  let activeSessions: UserLoaders["activeSessions"] | undefined;
  let mfaStatus: UserLoaders["mfaStatus"] | undefined;
  return {
    get activeSessions() {
      return (activeSessions ??= new DataLoader(async (ids) => {
        const counts = await countActiveSessions(db, ids);
        return ids.map((id) => counts.get(id) ?? 0);
      }));
    },
    get mfaStatus() {
      return (mfaStatus ??= new DataLoader(async (ids) => {
        const statuses = await loadMfaStatuses(db, ids);
        return ids.map((id) => statuses.get(id)!);
      }));
    },
  };
}
