import { and, asc, count, eq, isNull, ne, sql } from "drizzle-orm";
import { recordAudit } from "../../audit/audit.service.js";
import type { Queryable } from "../../db/client.js";
import { isUniqueViolation } from "../../db/errors.js";
import { userIdentities, users, type UserIdentityRow, type UserRow } from "../../db/schema.js";
import type { Deps, ExternalProfile, RequestMeta } from "../../deps.js";
import { AppError, badInput, ErrorCode, forbidden, notFound, unauthenticated } from "../../errors.js";
import { emailSchema, fullNameSchema } from "../../lib/validation.js";
import { findUserByEmail, findUserById, lockUserById } from "../../users/users.repo.js";
import { issueTokens, type IssuedTokens } from "../auth.service.js";
import { hasTotpEnabled } from "../mfa/mfa.repo.js";
import { createSession } from "../sessions.service.js";

/* Which account an identity opens, links to or leaves (API.md §8). An identity is (issuer, subject). */

/** RFC 8176 has no name for "a federated identity provider vouched for the user": "fed" (and the provider in the audit row). */
export const FEDERATED_AMR = "fed";

export const linkRequired = () =>
  new AppError(ErrorCode.CONFLICT, "An account with this email exists: sign in to it and link this provider from there", { reason: "LINK_REQUIRED" });

const findIdentity = async (db: Queryable, issuer: string, subject: string) =>
  (await db.select().from(userIdentities).where(and(eq(userIdentities.issuer, issuer), eq(userIdentities.subject, subject))).limit(1))[0] ?? null;

const insertIdentity = async (db: Queryable, userId: string, provider: string, profile: ExternalProfile, email: string | null) =>
  (await db.insert(userIdentities).values({ userId, provider, issuer: profile.issuer, subject: profile.subject, email }).returning())[0]!;

/** The provider's email normalised as register does, or null when it gave none (or nothing valid). */
function normalisedEmail(profile: ExternalProfile): string | null {
  const parsed = emailSchema.safeParse(profile.email ?? "");
  return parsed.success ? parsed.data : null;
}

function displayName(profile: ExternalProfile, email: string): string {
  const parsed = fullNameSchema.safeParse(profile.name ?? "");
  return parsed.success ? parsed.data : email.split("@")[0]!.slice(0, 100);
}

/** Races on (issuer, subject) or on the email: the loser tries once more and then sees the winner's row. */
const isRace = (err: unknown) => isUniqueViolation(err, "users_email_key") || isUniqueViolation(err, "user_identities_issuer_subject_key");

/**
 * Opens a session for the identity's account, creating or linking the account first when the rules
 * allow it; all in one transaction with its audit rows. Throws CONFLICT (LINK_REQUIRED), BAD_USER_INPUT
 * (no verified email for a new identity) or UNAUTHENTICATED (ACCOUNT_INACTIVE).
 */
export async function signInWithIdentity(
  deps: Pick<Deps, "db" | "config" | "tokens">,
  provider: string,
  profile: ExternalProfile,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await deps.db.transaction(async (tx) => {
        const user = await accountFor(tx, provider, profile, meta);
        // The WHERE re-checks status, as password login does: a deactivation that commits first wins.
        const [updated] = await tx
          .update(users)
          .set({ loginCount: sql`${users.loginCount} + 1`, lastLoginAt: sql`now()` })
          .where(and(eq(users.id, user.id), eq(users.isActive, true), isNull(users.deletedAt)))
          .returning();
        if (!updated) throw unauthenticated("ACCOUNT_INACTIVE");
        const mfaPending = await hasTotpEnabled(tx, updated.id);
        const session = await createSession(tx, deps.config.jwt.refreshTtl, updated.id, meta, { amr: [FEDERATED_AMR], mfaPending });
        await recordAudit(tx, {
          action: "user.login",
          actorId: updated.id,
          targetId: updated.id,
          ip: meta.ip,
          details: { sessionId: session.sessionId, method: "oauth", provider, ...(mfaPending ? { mfaPending } : {}) },
        });
        return { user: updated, mfaPending, ...session };
      });
      return issueTokens(deps, result.user, result.sessionId, result.refreshToken, result.mfaPending);
    } catch (err) {
      if (attempt < 2 && isRace(err)) continue;
      if (isRace(err)) throw linkRequired();
      throw err;
    }
  }
}

async function accountFor(tx: Queryable, provider: string, profile: ExternalProfile, meta: RequestMeta): Promise<UserRow> {
  const identity = await findIdentity(tx, profile.issuer, profile.subject);
  if (identity) {
    const user = await findUserById(tx, identity.userId);
    if (!user || user.deletedAt) throw unauthenticated("ACCOUNT_INACTIVE");
    return user;
  }
  const email = normalisedEmail(profile);
  const existing = email ? await findUserByEmail(tx, email) : null;
  if (existing) {
    if (existing.deletedAt) throw unauthenticated("ACCOUNT_INACTIVE");
    // Both sides must vouch for the address: an unverified one on either side is how accounts get taken over.
    if (!profile.emailVerified || !existing.emailVerified) throw linkRequired();
    await insertIdentity(tx, existing.id, provider, profile, email);
    await recordAudit(tx, {
      action: "user.identity_linked",
      actorId: existing.id,
      targetId: existing.id,
      ip: meta.ip,
      details: { provider, issuer: profile.issuer, subject: profile.subject, automatic: true },
    });
    return existing;
  }
  if (!email || !profile.emailVerified) {
    throw badInput([{ field: "callbackUrl", message: "The provider did not confirm a verified email address, so no account can be made from it" }]);
  }
  // A social sign-up is a verified USER without a password (it may set one through the reset flow).
  const [created] = await tx
    .insert(users)
    .values({ email, fullName: displayName(profile, email), passwordHash: null, role: "USER", emailVerified: true })
    .returning();
  await insertIdentity(tx, created!.id, provider, profile, email);
  await recordAudit(tx, {
    action: "user.registered",
    actorId: created!.id,
    targetId: created!.id,
    ip: meta.ip,
    details: { provider, issuer: profile.issuer, subject: profile.subject },
  });
  return created!;
}

/** Links the identity to the signed-in user; the same one again is a no-op, another account's is CONFLICT. */
export async function linkIdentityToUser(
  deps: Pick<Deps, "db">,
  userId: string,
  provider: string,
  profile: ExternalProfile,
  meta: RequestMeta,
): Promise<UserIdentityRow> {
  const taken = () => new AppError(ErrorCode.CONFLICT, "This provider account is already linked to another account", { reason: "IDENTITY_TAKEN" });
  try {
    return await deps.db.transaction(async (tx) => {
      const existing = await findIdentity(tx, profile.issuer, profile.subject);
      if (existing && existing.userId === userId) return existing;
      if (existing) throw taken();
      const row = await insertIdentity(tx, userId, provider, profile, normalisedEmail(profile));
      await recordAudit(tx, {
        action: "user.identity_linked",
        actorId: userId,
        targetId: userId,
        ip: meta.ip,
        details: { provider, issuer: profile.issuer, subject: profile.subject, automatic: false },
      });
      return row;
    });
  } catch (err) {
    if (isUniqueViolation(err, "user_identities_issuer_subject_key")) throw taken();
    throw err;
  }
}

/** The user's identities, oldest first. */
export async function listIdentities(db: Queryable, userId: string): Promise<UserIdentityRow[]> {
  return db.select().from(userIdentities).where(eq(userIdentities.userId, userId)).orderBy(asc(userIdentities.createdAt), asc(userIdentities.id));
}

/**
 * Removes one of the caller's identities. FORBIDDEN when it is the last way in (no password and no
 * other identity); the user row is locked so two unlinks at once cannot both pass that check.
 */
export async function unlinkIdentity(deps: Pick<Deps, "db">, userId: string, identityId: string, meta: RequestMeta): Promise<boolean> {
  const outcome = await deps.db.transaction(async (tx) => {
    const user = await lockUserById(tx, userId);
    const [identity] = await tx
      .select()
      .from(userIdentities)
      .where(and(eq(userIdentities.id, identityId), eq(userIdentities.userId, userId)))
      .limit(1);
    if (!user || !identity) return "not_found" as const;
    const [others] = await tx
      .select({ n: count() })
      .from(userIdentities)
      .where(and(eq(userIdentities.userId, userId), ne(userIdentities.id, identityId)));
    if (user.passwordHash === null && Number(others!.n) === 0) return "last" as const;
    await tx.delete(userIdentities).where(eq(userIdentities.id, identityId));
    await recordAudit(tx, {
      action: "user.identity_unlinked",
      actorId: userId,
      targetId: userId,
      ip: meta.ip,
      details: { provider: identity.provider, issuer: identity.issuer, subject: identity.subject },
    });
    return "ok" as const;
  });
  if (outcome === "not_found") throw notFound("No such identity");
  if (outcome === "last") {
    await recordAudit(deps.db, {
      action: "user.oauth_refused",
      actorId: userId,
      targetId: userId,
      ip: meta.ip,
      details: { reason: "last_way_in", identityId },
    });
    throw forbidden("This is the account's last way to sign in: set a password (requestPasswordReset) or link another provider first");
  }
  return true;
}
