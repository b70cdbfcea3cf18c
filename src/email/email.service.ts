import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import type { Queryable } from "../db/client.js";
import { users, type UserRow } from "../db/schema.js";
import { badInput } from "../errors.js";
import { parseInput } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { rethrowEmailTaken } from "../users/email-taken.js";
import { lockUserById } from "../users/users.repo.js";
import { consumeEmailToken, deleteUnusedEmailTokens, emailTokenSchema, INVALID_EMAIL_TOKEN, issueEmailToken } from "./email-tokens.js";
import { enqueueEmail } from "./outbox.js";
import { greetingName, passwordChangedEmail, verificationEmail } from "./templates.js";

/*
 * Proving a mailbox: verification links (on registration, on request) and the confirmation link of an
 * email change (requested in me/email-change.service.ts), both spent by verifyEmail; and the password
 * notice that the reset (auth/) and change (me/) flows write.
 */

type EmailDeps = Pick<Deps, "db" | "config" | "outbox">;

/** Writes a verification token and its email; call inside the transaction that creates or changes the user. */
export async function queueVerificationEmail(tx: Queryable, config: Deps["config"], user: Pick<UserRow, "id" | "email">): Promise<void> {
  const token = await issueEmailToken(tx, user.id, "VERIFY_EMAIL", user.email);
  await enqueueEmail(tx, config, verificationEmail(config, user.email, token));
}

/** Writes the "your password was changed" notice to the account's address (reset and change alike). */
export async function queuePasswordChangedNotice(
  tx: Queryable,
  config: Deps["config"],
  user: Pick<UserRow, "email" | "fullName" | "emailVerified">,
): Promise<void> {
  await enqueueEmail(tx, config, passwordChangedEmail(config, user.email, greetingName(user)));
}

/**
 * Spends a verification or email-change token. VERIFY_EMAIL marks the address verified;
 * CHANGE_EMAIL swaps the pending address in, if no other account took it meanwhile (CONFLICT,
 * and the token stays usable once the address is free).
 */
export async function verifyEmail(deps: Pick<Deps, "db">, rawToken: string, meta: RequestMeta): Promise<UserRow> {
  const { token } = parseInput(z.object({ token: emailTokenSchema }), { token: rawToken });
  const invalid = () => badInput([{ field: "token", message: INVALID_EMAIL_TOKEN }]);
  try {
    const updated = await deps.db.transaction(async (tx) => {
      const spent = await consumeEmailToken(tx, token, ["VERIFY_EMAIL", "CHANGE_EMAIL"]);
      if (!spent) return null;
      const user = await lockUserById(tx, spent.userId);
      if (!user || user.deletedAt) return null;
      if (spent.kind === "VERIFY_EMAIL") {
        // The address changed since this link was sent: it proves nothing about the current one.
        if (user.email !== spent.email) return null;
        const [row] = await tx
          .update(users)
          .set({ emailVerified: true, updatedAt: sql`now()` })
          .where(eq(users.id, user.id))
          .returning();
        await recordAudit(tx, { action: "user.email_verified", actorId: user.id, targetId: user.id, ip: meta.ip, details: { email: user.email } });
        return row!;
      }
      if (user.pendingEmail !== spent.email) return null; // superseded by a newer request
      const [row] = await tx
        .update(users)
        .set({ email: spent.email, pendingEmail: null, emailVerified: true, updatedAt: sql`now()` })
        .where(eq(users.id, user.id))
        .returning();
      // Links sent to the old address must not verify it, nor reset the password of the account it left.
      await deleteUnusedEmailTokens(tx, user.id, ["VERIFY_EMAIL", "RESET_PASSWORD"]);
      await recordAudit(tx, {
        action: "user.email_changed",
        actorId: user.id,
        targetId: user.id,
        ip: meta.ip,
        details: { before: { email: user.email }, after: { email: spent.email } },
      });
      return row!;
    });
    if (!updated) throw invalid();
    return updated;
  } catch (err) {
    rethrowEmailTaken(err, "That email address now belongs to another account");
  }
}

/** Sends a fresh verification link (the older ones stop working). false when the address is already verified. */
export async function resendVerificationEmail(deps: EmailDeps, me: UserRow): Promise<boolean> {
  if (me.emailVerified) return false;
  await deps.db.transaction((tx) => queueVerificationEmail(tx, deps.config, me));
  deps.outbox.notify();
  return true;
}

