import { AppError } from "../../errors.js";

/*
 * The FORBIDDEN answers of the second factor (API.md §7). `extensions.reason` says what the client
 * should do: MFA_REQUIRED, show the code screen and call verifyMfa; MFA_ENROLLMENT_REQUIRED, send the
 * admin to TOTP setup.
 */

/** A pending session asked for something other than me, verifyMfa, logout or logoutAll (or a refresh). */
export const mfaRequired = (message = "Enter your second factor first: call verifyMfa with a code") =>
  new AppError("FORBIDDEN", message, { reason: "MFA_REQUIRED" });

/** REQUIRE_ADMIN_MFA is on and this admin has not turned TOTP on. */
export const mfaEnrollmentRequired = () =>
  new AppError("FORBIDDEN", "Admins must turn on two-factor authentication (startTotpSetup) before using admin operations", {
    reason: "MFA_ENROLLMENT_REQUIRED",
  });
