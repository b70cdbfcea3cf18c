import { z } from "zod";
import type { Config } from "../../config.js";
import type { Queryable } from "../../db/client.js";
import type { UserRow } from "../../db/schema.js";
import { enqueueEmail } from "../../email/outbox.js";
import { greetingName, mfaNoticeEmail, type MfaNotice } from "../../email/templates.js";
import { badInput } from "../../errors.js";
import { parseInput } from "../../lib/validation.js";
import { open, seal, sealingKeyFor } from "../../lib/sealed.js";
import { findUserMfa, spendRecoveryCode, spendTotpStep } from "./mfa.repo.js";
import { normalizeRecoveryCode } from "./recovery-codes.js";
import { matchTotpStep } from "./totp.js";

/* What the code-taking MFA operations share: the secret's sealing, reading a code, mail notices. */

/** The TOTP key: HKDF from ENCRYPTION_SECRET (or its development default) under a label of its own. */
const totpKey = sealingKeyFor("gatehouse totp v1");

// The user id is bound as associated data: a sealed secret copied into another user's row does not open.
const aad = (userId: string) => `user_mfa:${userId}`;

/** Seals a base32 TOTP secret for storage in user_mfa. */
export const sealTotpSecret = (config: Pick<Config, "encryptionSecret">, userId: string, secret: string): string =>
  seal(totpKey(config), secret, aad(userId));

/** Opens a stored TOTP secret (throws SealedValueError under another ENCRYPTION_SECRET). */
export const openTotpSecret = (config: Pick<Config, "encryptionSecret">, userId: string, sealed: string): string =>
  open(totpKey(config), sealed, aad(userId));

// Short cap: anything longer is no code, and zod answers before any work.
const codeSchema = z.object({ code: z.string().trim().min(1, "Enter a code").max(64, "Not a valid code") });

export const WRONG_CODE = "The code is not valid";
const NOT_ON = "Two-factor authentication is not on for this account";
const ALREADY_USED = "This code was already used: wait for the next one";

const wrongCode = (message = WRONG_CODE) => badInput([{ field: "code", message }]);

/** A 6-digit TOTP code, spaces allowed ("123 456"), or null. */
export function asTotpCode(raw: string): string | null {
  const compact = raw.replace(/\s/g, "");
  return /^\d{6}$/.test(compact) ? compact : null;
}

/** The code as typed, trimmed; BAD_USER_INPUT on `code` when it is empty or too long to be one. */
export function readCode(raw: string): string {
  return parseInput(codeSchema, { code: raw }).code;
}

/**
 * The time step a TOTP code is of, under the user's sealed secret: the current or the previous step of
 * `epochSeconds`; BAD_USER_INPUT on `code` otherwise. Whether the step is still unspent is the caller's
 * compare-and-set.
 */
export function matchUserTotp(config: Pick<Config, "encryptionSecret">, userId: string, sealedSecret: string, totp: string, epochSeconds: number): number {
  const step = matchTotpStep(openTotpSecret(config, userId, sealedSecret), totp, epochSeconds);
  if (step === null) throw wrongCode();
  return step;
}

/** The answer to a TOTP code whose step was spent already (by this code or a newer one). */
export const totpStepSpent = () => wrongCode(ALREADY_USED);

/** The answer to a code of a user whose TOTP is off. */
export const totpNotOn = () => wrongCode(NOT_ON);

/**
 * Checks a second-factor code of the user and spends it, inside the caller's transaction: a TOTP code
 * of the current or previous step (its step then compare-and-set as spent), or an unused recovery
 * code (marked used). Throws BAD_USER_INPUT on `code` otherwise; the transaction then rolls back, so
 * nothing is spent. `epochSeconds` is deps.now's time. Which kind was used comes back.
 */
export async function spendSecondFactor(
  tx: Queryable,
  config: Pick<Config, "encryptionSecret">,
  userId: string,
  rawCode: string,
  epochSeconds: number,
): Promise<"otp" | "recovery_code"> {
  const code = readCode(rawCode);
  const mfa = await findUserMfa(tx, userId);
  if (!mfa?.totpEnabledAt) throw totpNotOn();
  const totp = asTotpCode(code);
  if (totp) {
    const step = matchUserTotp(config, userId, mfa.totpSecret, totp, epochSeconds);
    if (!(await spendTotpStep(tx, userId, step))) throw totpStepSpent();
    return "otp";
  }
  if (normalizeRecoveryCode(code) && (await spendRecoveryCode(tx, userId, code))) return "recovery_code";
  throw wrongCode();
}

/** Queues a second-factor notice to the account's address, in the transaction of the change. */
export async function queueMfaNotice(
  tx: Queryable,
  config: Pick<Config, "encryptionSecret" | "appBaseUrl" | "appName">,
  user: Pick<UserRow, "email" | "fullName" | "emailVerified">,
  notice: MfaNotice,
): Promise<void> {
  await enqueueEmail(tx, config, mfaNoticeEmail(config, user.email, greetingName(user), notice));
}
