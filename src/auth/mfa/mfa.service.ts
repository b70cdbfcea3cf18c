import { recordAudit } from "../../audit/audit.service.js";
import type { Tx } from "../../db/client.js";
import type { UserRow } from "../../db/schema.js";
import type { Deps, RequestMeta } from "../../deps.js";
import { AppError, notFound, unauthenticated } from "../../errors.js";
import { findUserById } from "../../users/users.repo.js";
import { issueTokens, type IssuedTokens } from "../auth.service.js";
import { asTotpCode, matchUserTotp, queueMfaNotice, readCode, spendSecondFactor, totpNotOn, totpStepSpent } from "./mfa-codes.js";
import { completeSessionWithTotp } from "./mfa-session.js";
import { completeSessionMfa, findUserMfa, removeUserMfa, replaceRecoveryCodes } from "./mfa.repo.js";
import { generateRecoveryCodes } from "./recovery-codes.js";

type CodeDeps = Pick<Deps, "db" | "config" | "outbox" | "now">;

const epochSeconds = (deps: Pick<Deps, "now">) => Math.floor(deps.now() / 1000);

/**
 * Runs `check`; a wrong or replayed code (BAD_USER_INPUT) is audited on its own afterwards
 * (user.mfa_failed), so failed guesses leave a trail even though nothing else is written.
 */
async function auditingFailures<T>(deps: CodeDeps, user: UserRow, meta: RequestMeta, purpose: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof AppError && err.code === "BAD_USER_INPUT") {
      await recordAudit(deps.db, { action: "user.mfa_failed", actorId: user.id, targetId: user.id, ip: meta.ip, details: { purpose } });
    }
    throw err;
  }
}

/**
 * Runs `work` in a transaction after spending the user's code in it. A wrong or replayed code rolls the
 * whole transaction back (nothing is spent); the caller audits it (auditingFailures).
 */
async function inSpentCodeTransaction<T>(
  deps: CodeDeps,
  user: UserRow,
  code: string,
  meta: RequestMeta,
  purpose: string,
  work: (tx: Tx, method: "otp" | "recovery_code") => Promise<T>,
  mails: boolean,
): Promise<T> {
  let mailed = mails;
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
}

/** inSpentCodeTransaction with its failures audited. */
function withSpentCode<T>(
  deps: CodeDeps,
  user: UserRow,
  code: string,
  meta: RequestMeta,
  purpose: string,
  work: (tx: Tx, method: "otp" | "recovery_code") => Promise<T>,
  mails = false,
): Promise<T> {
  return auditingFailures(deps, user, meta, purpose, () => inSpentCodeTransaction(deps, user, code, meta, purpose, work, mails));
}

/**
 * Completes the caller's session with a second factor (a TOTP code of the current or previous step,
 * or a recovery code) and returns a fresh pair for it: the pending refresh token is spent. On a
 * session that is already complete it proves the factor again (step-up) and renews mfa_verified_at.
 *
 * A TOTP code costs two statements: the user_mfa read (the secret, to check the code here), then every
 * write in one (mfa-session.ts), which spends the step only while TOTP is on with the secret the code
 * was checked against and only together with the session's completion. A recovery code, which also
 * queues a notice, keeps the transaction.
 */
export async function verifyMfa(
  deps: CodeDeps & Pick<Deps, "tokens">,
  viewer: { user: UserRow; sessionId: string },
  code: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const { user, sessionId } = viewer;
  const refreshToken = await auditingFailures(deps, user, meta, "verify", async () => {
    const totp = asTotpCode(readCode(code));
    if (!totp) {
      return inSpentCodeTransaction(deps, user, code, meta, "verify", async (tx, method) => {
        const token = await completeSessionMfa(tx, sessionId, method);
        if (!token) throw sessionRevoked();
        await recordAudit(tx, { action: "user.mfa_verified", actorId: user.id, targetId: user.id, ip: meta.ip, details: { sessionId, method } });
        return token;
      }, false);
    }
    const mfa = await findUserMfa(deps.db, user.id);
    if (!mfa?.totpEnabledAt) throw totpNotOn();
    const step = matchUserTotp(deps.config, user.id, mfa.totpSecret, totp, epochSeconds(deps));
    const done = await completeSessionWithTotp(deps.db, { userId: user.id, sessionId, sealedSecret: mfa.totpSecret, step, ip: meta.ip });
    if (done.outcome === "totp_off") throw totpNotOn();
    if (done.outcome === "step_spent") throw totpStepSpent();
    if (done.outcome === "session_ended") throw sessionRevoked();
    return done.refreshToken;
  });
  return issueTokens(deps, user, sessionId, refreshToken);
}

const sessionRevoked = () => unauthenticated("SESSION_REVOKED", "Session is no longer valid; log in again");

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
