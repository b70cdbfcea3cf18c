import { z } from "zod";
import { recordAudit } from "../audit/audit.service.js";
import { users, type UserRow } from "../db/schema.js";
import { unauthenticated, type FieldError } from "../errors.js";
import { emailSchema, fullNameSchema, parseInput } from "../lib/validation.js";
import type { Deps, RequestMeta } from "../deps.js";
import { rethrowEmailTaken } from "../users/email-taken.js";
import { findUserByEmail } from "../users/users.repo.js";
import { queueVerificationEmail } from "../email/email.service.js";
import { chargeAccountLimit } from "./login-limit.js";
import { checkPasswordPolicy } from "./password.js";
import { openPasswordLogin, recordWrongPassword } from "./login-session.js";
import type { LoginInput, RegisterInput } from "./auth.types.js";
import { consumeRefreshToken, continueSession, revokeSessions, revokeUserSessions } from "./sessions.service.js";

/** Login accepts any password a user could have set; the cap keeps argon2 from hashing megabytes. */
const loginSchema = z.object({
  email: emailSchema,
  password: z.string().min(1, "Password is required").max(1024, "Password is too long"),
});

const registerSchema = z.object({
  email: emailSchema,
  fullName: fullNameSchema,
  password: z.string(),
});

/** What opening, continuing or renewing a session gives the caller; auth.view.ts maps it to AuthPayload. */
export interface IssuedTokens {
  accessToken: string;
  /** In clear, once: only its hash is stored. */
  refreshToken: string;
  /** Seconds until accessToken expires. */
  expiresIn: number;
  user: UserRow;
  /** The session waits for its second factor (verifyMfa) and may do little else (API.md §7). */
  mfaRequired: boolean;
}

/** Signs the access token for a session that was just opened or continued, next to its refresh token. */
export async function issueTokens(
  deps: Pick<Deps, "tokens">,
  user: UserRow,
  sessionId: string,
  refreshToken: string,
  mfaRequired = false,
): Promise<IssuedTokens> {
  const { token, expiresIn } = await deps.tokens.signAccessToken({
    userId: user.id,
    sessionId,
    role: user.role,
    emailVerified: user.emailVerified,
  });
  return { accessToken: token, refreshToken, expiresIn, user, mfaRequired };
}

/**
 * Validates every field at once (so a form can show every problem), applies the password policy and
 * creates a USER. The unique index on email decides races: of N concurrent registrations of one
 * address exactly one commits and the others get CONFLICT.
 */
export async function register(deps: Pick<Deps, "db" | "hasher" | "config" | "outbox">, input: RegisterInput, meta: RequestMeta): Promise<UserRow> {
  // The policy runs even when other fields are bad, so the caller sees every problem at once.
  const policyErrors: FieldError[] = [];
  if (typeof input.password === "string") {
    const problem = await checkPasswordPolicy(input.password, "password", {
      email: String(input.email ?? "").trim().toLowerCase(),
      fullName: String(input.fullName ?? ""),
    });
    if (problem) policyErrors.push(problem);
  }
  const { email, fullName, password } = parseInput(registerSchema, input, policyErrors);
  const passwordHash = await deps.hasher.hash(password);
  try {
    const row = await deps.db.transaction(async (tx) => {
      // Registration never grants ADMIN, whatever the input says: role is not an input at all.
      const [created] = await tx.insert(users).values({ email, fullName, passwordHash, role: "USER" }).returning();
      await recordAudit(tx, { action: "user.registered", actorId: created!.id, targetId: created!.id, ip: meta.ip });
      await queueVerificationEmail(tx, deps.config, created!);
      return created!;
    });
    deps.outbox.notify();
    return row;
  } catch (err) {
    rethrowEmailTaken(err);
  }
}

/**
 * One answer and the same work for an unknown email and a wrong password: both verify a hash (a dummy
 * one for unknown emails) and write one audit row. Deactivated accounts learn they are deactivated
 * only after proving the password.
 */
export async function login(
  deps: Pick<Deps, "db" | "hasher" | "tokens" | "config" | "metrics" | "rateLimiter">,
  input: LoginInput,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const { email, password } = parseInput(loginSchema, input);
  // After validation, before the password check: only attempts that reach one count against the account.
  await chargeAccountLimit(deps, email, meta);
  try {
    const issued = await attemptLogin(deps, email, password, meta);
    deps.metrics.logins.inc({ result: "success" });
    return issued;
  } catch (err) {
    deps.metrics.logins.inc({ result: "failure" });
    throw err;
  }
}

async function attemptLogin(
  deps: Pick<Deps, "db" | "hasher" | "tokens" | "config">,
  email: string,
  password: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const user = await findUserByEmail(deps.db, email);

  if (!user || user.deletedAt) {
    await deps.hasher.verify(await deps.hasher.dummyHash(), password);
    await recordAudit(deps.db, {
      action: "user.login_failed",
      targetId: user?.id ?? null,
      ip: meta.ip,
      details: { email, reason: user ? "deleted" : "unknown_email" },
    });
    throw unauthenticated("INVALID_CREDENTIALS");
  }

  // An account made by a social login has no password: the dummy hash makes its refusal the same work and
  // the same answer as a wrong password.
  if (!(await deps.hasher.verify(user.passwordHash ?? (await deps.hasher.dummyHash()), password))) {
    await recordWrongPassword(deps.db, user.id, meta);
    throw unauthenticated("INVALID_CREDENTIALS");
  }

  // One statement: bookkeeping, session, refresh token and audit event (login-session.ts).
  const result = await openPasswordLogin(deps.db, deps.config.jwt.refreshTtl, user.id, meta);
  if (!result) throw unauthenticated("ACCOUNT_INACTIVE");
  return issueTokens(deps, result.user, result.sessionId, result.refreshToken, result.mfaPending);
}

// No length cap: any string that is not a live token is simply unknown (UNAUTHENTICATED), as API.md §3 says.
const refreshSchema = z.object({ refreshToken: z.string().min(1, "Refresh token is required") });

/** Rotates a refresh token: the old one is spent, a new pair comes back. */
export async function refreshTokens(
  deps: Pick<Deps, "db" | "tokens" | "config">,
  refreshToken: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  parseInput(refreshSchema, { refreshToken });
  // The transaction commits a reuse revocation before the error is thrown.
  const result = await deps.db.transaction(async (tx) => {
    const consumed = await consumeRefreshToken(tx, refreshToken, meta.ip, deps.config.refreshReuseInterval);
    if (consumed.status !== "ok" && consumed.status !== "grace") return consumed.status;
    return continueSession(tx, deps.config.jwt.refreshTtl, consumed.sessionId, meta);
  });
  if (result === "unknown") throw unauthenticated("INVALID_TOKEN", "Invalid refresh token");
  if (result === "reused") throw unauthenticated("SESSION_REVOKED", "Refresh token was already used; the session has been revoked");
  if ("ended" in result) throw unauthenticated(result.ended);
  return issueTokens(deps, result.user, result.sessionId, result.refreshToken);
}

/** Ends the session the refresh token belongs to. */
export async function logout(deps: Pick<Deps, "db" | "config">, refreshToken: string, meta: RequestMeta): Promise<boolean> {
  parseInput(refreshSchema, { refreshToken });
  const result = await deps.db.transaction(async (tx) => {
    // A token another tab refreshed a moment ago still ends its session (the logout the user asked for).
    const consumed = await consumeRefreshToken(tx, refreshToken, meta.ip, deps.config.refreshReuseInterval);
    if (consumed.status !== "ok" && consumed.status !== "grace") return consumed.status;
    const [ended] = await revokeSessions(tx, { sessionId: consumed.sessionId }, "logout");
    if (ended) {
      await recordAudit(tx, {
        action: "user.logout",
        actorId: ended.userId,
        targetId: ended.userId,
        ip: meta.ip,
        details: { sessionId: consumed.sessionId },
      });
    }
    return "ok" as const;
  });
  if (result === "unknown") throw unauthenticated("INVALID_TOKEN", "Invalid refresh token");
  if (result === "reused") throw unauthenticated("SESSION_REVOKED", "Refresh token was already used; the session has been revoked");
  return true;
}

/** Ends every session of the user, this one included. */
export async function logoutAll(deps: Pick<Deps, "db">, userId: string, meta: RequestMeta): Promise<boolean> {
  await deps.db.transaction(async (tx) => {
    const count = await revokeUserSessions(tx, userId, "logout_all");
    await recordAudit(tx, { action: "user.logout_all", actorId: userId, targetId: userId, ip: meta.ip, details: { sessions: count } });
  });
  return true;
}
