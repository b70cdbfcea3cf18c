import type { UserRow } from "../db/schema.js";
import { User } from "./user.types.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The one mapping from a database row to the GraphQL User. It copies named fields only, so a
 * column such as password_hash can never reach a response through a stray decorator.
 */
export function toUserView(row: UserRow, now: Date = new Date()): User {
  const user = new User();
  user.id = row.id;
  user.email = row.email;
  user.fullName = row.fullName;
  user.role = row.role;
  user.isActive = row.isActive;
  user.emailVerified = row.emailVerified;
  user.pendingEmail = row.pendingEmail;
  user.createdAt = row.createdAt;
  user.updatedAt = row.updatedAt;
  user.lastLoginAt = row.lastLoginAt;
  user.deletedAt = row.deletedAt;
  user.activity = {
    loginCount: row.loginCount,
    lastLoginAt: row.lastLoginAt,
    failedLoginsSinceLastLogin: row.failedLoginsSinceLastLogin,
    passwordChangedAt: row.passwordChangedAt,
    accountAgeDays: Math.max(0, Math.floor((now.getTime() - row.createdAt.getTime()) / DAY_MS)),
  };
  return user;
}

/**
 * The caller's own account (login, register, verifyMfa payloads), for fields only the account itself
 * and admins may read (User.mfa) when the request carries no token yet.
 */
export function toOwnUserView(row: UserRow): User {
  return Object.assign(toUserView(row), { isCaller: true });
}
