import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../../audit/audit.service.js";
import { sessions, userMfa, type UserRow } from "../../db/schema.js";
import type { Deps, RequestMeta } from "../../deps.js";
import { badInput, conflict } from "../../errors.js";
import { verifyCurrentPassword } from "../password.js";
import { parseInput } from "../../lib/validation.js";
import { asTotpCode, openTotpSecret, queueMfaNotice, sealTotpSecret, WRONG_CODE } from "./mfa-codes.js";
import { findUserMfa, replaceRecoveryCodes } from "./mfa.repo.js";
import { generateRecoveryCodes } from "./recovery-codes.js";
import { generateTotpSecret, matchTotpStep, totpUri } from "./totp.js";

const ALREADY_ON = "Two-factor authentication is already on: turn it off first to set it up again";

const startSchema = z.object({
  currentPassword: z.string().min(1, "Current password is required").max(1024, "Current password is incorrect"),
});

/**
 * Starts (or restarts) TOTP enrolment: checks the password, stores a fresh secret sealed and not yet
 * enabled, and returns it with its otpauth:// URI (issuer APP_NAME, label the email). TOTP turns on only
 * when confirmTotpSetup gets a valid code of it. CONFLICT when TOTP is already on.
 */
export async function startTotpSetup(
  deps: Pick<Deps, "db" | "config" | "hasher">,
  me: UserRow,
  currentPassword: string,
  meta: RequestMeta,
): Promise<{ secret: string; otpauthUri: string }> {
  parseInput(startSchema, { currentPassword });
  // A stolen access token alone must not bind the account to someone else's authenticator.
  await verifyCurrentPassword(deps.hasher, me, currentPassword);
  const secret = generateTotpSecret();
  const sealed = sealTotpSecret(deps.config, me.id, secret);
  const started = await deps.db.transaction(async (tx) => {
    // Insert, or replace a setup that was never confirmed; an enabled row is left alone (setWhere).
    const rows = await tx
      .insert(userMfa)
      .values({ userId: me.id, totpSecret: sealed })
      .onConflictDoUpdate({
        target: userMfa.userId,
        set: { totpSecret: sealed, lastTotpStep: null, updatedAt: sql`now()` },
        setWhere: isNull(userMfa.totpEnabledAt),
      })
      .returning({ userId: userMfa.userId });
    if (rows.length === 0) return false;
    await recordAudit(tx, { action: "user.mfa_setup_started", actorId: me.id, targetId: me.id, ip: meta.ip });
    return true;
  });
  if (!started) throw conflict(ALREADY_ON);
  return { secret, otpauthUri: totpUri(deps.config.appName, me.email, secret) };
}

/**
 * Turns TOTP on with a valid code of the secret from startTotpSetup (whose step is then spent) and
 * returns 10 new recovery codes, in clear, once. The session that confirmed counts as verified with
 * "otp" (it just proved the factor). Audited, and the account is told by email.
 */
export async function confirmTotpSetup(
  deps: Pick<Deps, "db" | "config" | "outbox" | "now">,
  me: UserRow,
  sessionId: string,
  rawCode: string,
  meta: RequestMeta,
): Promise<string[]> {
  const code = asTotpCode(String(rawCode ?? ""));
  if (!code) throw badInput([{ field: "code", message: "Enter the 6-digit code from your authenticator app" }]);
  const pending = await findUserMfa(deps.db, me.id);
  if (pending?.totpEnabledAt) throw conflict(ALREADY_ON);
  if (!pending) throw badInput([{ field: "code", message: "Start the setup first (startTotpSetup)" }]);
  const step = matchTotpStep(openTotpSecret(deps.config, me.id, pending.totpSecret), code, Math.floor(deps.now() / 1000));
  if (step === null) throw badInput([{ field: "code", message: WRONG_CODE }]);

  const codes = generateRecoveryCodes();
  const enabled = await deps.db.transaction(async (tx) => {
    // Only the very setup the code was checked against: a restart in between (new secret) wins.
    const [row] = await tx
      .update(userMfa)
      .set({ totpEnabledAt: sql`now()`, lastTotpStep: step, updatedAt: sql`now()` })
      .where(and(eq(userMfa.userId, me.id), isNull(userMfa.totpEnabledAt), eq(userMfa.totpSecret, pending.totpSecret)))
      .returning({ userId: userMfa.userId });
    if (!row) return false;
    await replaceRecoveryCodes(tx, me.id, codes);
    await tx
      .update(sessions)
      .set({ mfaVerifiedAt: sql`now()`, amr: sql`array_append(array_remove(${sessions.amr}, 'otp'), 'otp')` })
      .where(eq(sessions.id, sessionId));
    await recordAudit(tx, { action: "user.mfa_enabled", actorId: me.id, targetId: me.id, ip: meta.ip, details: { sessionId } });
    await queueMfaNotice(tx, deps.config, me, "totp-enabled");
    return true;
  });
  if (!enabled) throw conflict("The TOTP setup changed meanwhile (started again or already confirmed): start it again");
  deps.outbox.notify();
  return codes;
}
