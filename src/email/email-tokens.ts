import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../db/client.js";
import { emailTokens, type EmailTokenKind } from "../db/schema.js";
import { generateOpaqueToken, hashToken } from "../lib/opaque-token.js";

export const EMAIL_TOKEN_TTL_SECONDS: Record<EmailTokenKind, number> = {
  VERIFY_EMAIL: 24 * 3600,
  CHANGE_EMAIL: 24 * 3600,
  RESET_PASSWORD: 3600,
};

/** The one answer for an unknown, expired, used or superseded link: which of them it was is not told. */
export const INVALID_EMAIL_TOKEN = "This link is invalid, expired or already used";

/** A token as a client sends it back from a link; longer than any issued token is simply invalid. */
export const emailTokenSchema = z.string().trim().min(1, "Token is required").max(256, INVALID_EMAIL_TOKEN);

/** Every kind, for a change (an admin's new address) after which no link sent before proves anything. */
export const ALL_EMAIL_TOKEN_KINDS = Object.keys(EMAIL_TOKEN_TTL_SECONDS) as EmailTokenKind[];

/**
 * Kills the unused tokens of these kinds for a user: their links stop working at once. Call it in the
 * transaction of the change that makes them stale. Resolves with how many were live or expired-unused.
 */
export async function deleteUnusedEmailTokens(tx: Queryable, userId: string, kinds: readonly EmailTokenKind[]): Promise<number> {
  if (kinds.length === 0) return 0;
  const gone = await tx
    .delete(emailTokens)
    .where(and(eq(emailTokens.userId, userId), inArray(emailTokens.kind, [...kinds]), isNull(emailTokens.usedAt)))
    .returning({ kind: emailTokens.kind });
  return gone.length;
}

/**
 * Issues a token of `kind` for `email` (256 random bits; only the hash is kept). Older unused tokens
 * of the same kind for the user stop working: only the newest link in someone's inbox is live.
 */
export async function issueEmailToken(tx: Queryable, userId: string, kind: EmailTokenKind, email: string): Promise<string> {
  await deleteUnusedEmailTokens(tx, userId, [kind]);
  const token = generateOpaqueToken();
  await tx.insert(emailTokens).values({
    tokenHash: hashToken(token),
    userId,
    kind,
    email,
    expiresAt: sql`now() + make_interval(secs => ${EMAIL_TOKEN_TTL_SECONDS[kind]})`,
  });
  return token;
}

export type EmailTokenRow = typeof emailTokens.$inferSelect;

/**
 * Spends a live token atomically: of concurrent callers with one token, exactly one gets the row.
 * Null for an unknown, used, expired or superseded token, or one of another kind.
 */
export async function consumeEmailToken(tx: Queryable, token: string, kinds: EmailTokenKind[]): Promise<EmailTokenRow | null> {
  const [row] = await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(emailTokens.tokenHash, hashToken(token)),
        inArray(emailTokens.kind, kinds),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row ?? null;
}

/** Reads a live token without spending it (to check a new password against its user first). */
export async function findLiveEmailToken(db: Queryable, token: string, kind: EmailTokenKind): Promise<EmailTokenRow | null> {
  const [row] = await db
    .select()
    .from(emailTokens)
    .where(
      and(
        eq(emailTokens.tokenHash, hashToken(token)),
        eq(emailTokens.kind, kind),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, sql`now()`),
      ),
    )
    .limit(1);
  return row ?? null;
}
