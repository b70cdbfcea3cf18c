import { recordAudit } from "../../audit/audit.service.js";
import type { Tx } from "../../db/client.js";
import type { UserRow } from "../../db/schema.js";
import type { Deps, RequestMeta } from "../../deps.js";
import { AppError, notFound, unauthenticated } from "../../errors.js";
import { findUserById } from "../../users/users.repo.js";
import { issueTokens, type IssuedTokens } from "../auth.service.js";
import { queueMfaNotice, spendSecondFactor } from "./mfa-codes.js";
import { completeSessionMfa, removeUserMfa, replaceRecoveryCodes } from "./mfa.repo.js";
import { generateRecoveryCodes } from "./recovery-codes.js";

type CodeDeps = Pick<Deps, "db" | "config" | "outbox" | "now">;

const epochSeconds = (deps: Pick<Deps, "now">) => Math.floor(deps.now() / 1000);

/**
 * Runs `work` in a transaction after spending the user's code in it. A wrong or replayed code rolls the
 * whole transaction back and is audited on its own afterwards (user.mfa_failed), so failed guesses
 * leave a trail even though nothing else is written.
 */
async function withSpentCode<T>(
  deps: CodeDeps,
  user: UserRow,
  code: string,
  meta: RequestMeta,
  purpose: string,
  work: (tx: Tx, method: "otp" | "recovery_code") => Promise<T>,
  mails = false,
): Promise<T> {
  let mailed = mails;
  try {
    const result = await deps.db.transaction(async (tx) => {
      const method = await spendSecondFactor(tx, deps.config, user.id, code, epochSeconds(deps));
      if (method === "recovery_code") {
        mailed = true;
        await recordAudit(tx, { action: "user.recovery_code_used", actorId: user.id, targetId: user.id, ip: meta.ip, details: { purpose } });
        await queueMfaNotice(tx, deps.config, user, "recovery-code-used");
      }
      return work(tx, method);
    });
    // Only when the commit holds an email: a plain verifyMfa should not wake the delivery worker.
    if (mailed) deps.outbox.notify();
    return result;
  } catch (err) {
    if (err instanceof AppError && err.code === "BAD_USER_INPUT") {
      await recordAudit(deps.db, { action: "user.mfa_failed", actorId: user.id, targetId: user.id, ip: meta.ip, details: { purpose } });
    }
    throw err;
  }
}

/**
 * Completes the caller's session with a second factor (a TOTP code of the current or previous step,
 * or a recovery code) and returns a fresh pair for it: the pending refresh token is spent. On a
 * session that is already complete it proves the factor again (step-up) and renews mfa_verified_at.
 */
export async function verifyMfa(
  deps: CodeDeps & Pick<Deps, "tokens">,
  viewer: { user: UserRow; sessionId: string },
  code: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const { user, sessionId } = viewer;
  const refreshToken = await withSpentCode(deps, user, code, meta, "verify", async (tx, method) => {
    const token = await completeSessionMfa(tx, sessionId, method);
    if (!token) throw unauthenticated("SESSION_REVOKED", "Session is no longer valid; log in again");
    await recordAudit(tx, { action: "user.mfa_verified", actorId: user.id, targetId: user.id, ip: meta.ip, details: { sessionId, method } });
    return token;
  });
  return issueTokens(deps, user, sessionId, refreshToken);
}

/** Turns TOTP off (secret and recovery codes gone) with a current code or a recovery code. */
export async function disableTotp(deps: CodeDeps, me: UserRow, code: string, meta: RequestMeta): Promise<boolean> {
  await withSpentCode(deps, me, code, meta, "disable", async (tx) => {
    await removeUserMfa(tx, me.id);
    await recordAudit(tx, { action: "user.mfa_disabled", actorId: me.id, targetId: me.id, ip: meta.ip });
    await queueMfaNotice(tx, deps.config, me, "totp-disabled");
  }, true);
  return true;
}

/** A new set of 10 recovery codes for a current code or a recovery code; the old set stops working. */
export async function regenerateRecoveryCodes(deps: CodeDeps, me: UserRow, code: string, meta: RequestMeta): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await withSpentCode(deps, me, code, meta, "regenerate", async (tx) => {
    await replaceRecoveryCodes(tx, me.id, codes);
    await recordAudit(tx, { action: "user.recovery_codes_regenerated", actorId: me.id, targetId: me.id, ip: meta.ip });
    await queueMfaNotice(tx, deps.config, me, "recovery-codes-regenerated");
  }, true);
  return codes;
}

/**
 * An admin removes every second factor of a user who lost them all: the next login asks for the
 * password only. The user is told by email when there was something to remove. NOT_FOUND for an
 * unknown or deleted user.
 */
export async function resetUserMfa(deps: Pick<Deps, "db" | "config" | "outbox">, adminId: string, userId: string, meta: RequestMeta): Promise<UserRow> {
  const user = await deps.db.transaction(async (tx) => {
    const target = await findUserById(tx, userId);
    if (!target || target.deletedAt) return null;
    const hadTotp = await removeUserMfa(tx, target.id);
    await recordAudit(tx, { action: "admin.mfa_reset", actorId: adminId, targetId: target.id, ip: meta.ip, details: { hadTotp } });
    if (hadTotp) await queueMfaNotice(tx, deps.config, target, "mfa-reset-by-admin");
    return target;
  });
  if (!user) throw notFound("No such user");
  deps.outbox.notify();
  return user;
}
