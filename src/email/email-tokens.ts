import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { emailTokens, type EmailTokenKind } from "../db/schema.js";
import { generateOpaqueToken, hashToken } from "../auth/tokens.js";

export const EMAIL_TOKEN_TTL_SECONDS: Record<EmailTokenKind, number> = {
  VERIFY_EMAIL: 24 * 3600,
  CHANGE_EMAIL: 24 * 3600,
  RESET_PASSWORD: 3600,
};

/**
 * Issues a token of `kind` for `email` (256 random bits; only the hash is kept). Older unused tokens
 * of the same kind for the user stop working: only the newest link in someone's inbox is live.
 */
export async function issueEmailToken(tx: Queryable, userId: string, kind: EmailTokenKind, email: string): Promise<string> {
  await tx.delete(emailTokens).where(and(eq(emailTokens.userId, userId), eq(emailTokens.kind, kind), isNull(emailTokens.usedAt)));
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
