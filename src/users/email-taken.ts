import { isUniqueViolation } from "../db/errors.js";
import { conflict } from "../errors.js";

/** The one message for an address that belongs to another account. */
export const EMAIL_TAKEN = "An account with this email already exists";

/** Whether a write failed on the one-account-per-address index (users_email_key), which decides races. */
export const isEmailTaken = (err: unknown): boolean => isUniqueViolation(err, "users_email_key");

/** For a catch around a write of users.email: that index's violation becomes CONFLICT; any other error stays. */
export function rethrowEmailTaken(err: unknown, message = EMAIL_TAKEN): never {
  if (isEmailTaken(err)) throw conflict(message);
  throw err;
}
