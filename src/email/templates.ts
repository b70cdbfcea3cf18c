import type { Config } from "../config.js";
import type { UserRow } from "../db/schema.js";

export interface RenderedEmail {
  template: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

type Links = Pick<Config, "appBaseUrl" | "appName">;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function layout(appName: string, paragraphs: string[], action?: { label: string; url: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n");
  const button = action
    ? `<p><a href="${escapeHtml(action.url)}" ` +
      `style="display:inline-block;padding:10px 16px;background:#1f2937;color:#ffffff;text-decoration:none;border-radius:6px">` +
      `${escapeHtml(action.label)}</a></p>\n` +
      `<p style="font-size:12px;color:#6b7280">Or paste this link into your browser: ${escapeHtml(action.url)}</p>`
    : "";
  return `<!doctype html>
<html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111827;max-width:560px">
<h2>${escapeHtml(appName)}</h2>
${body}
${button}
</body></html>`;
}

function text(paragraphs: string[], url?: string): string {
  return [...paragraphs, ...(url ? [url] : [])].join("\n\n");
}

/**
 * The name to greet a user's address with, or null. A name is only for an address the account has
 * confirmed (API.md §5): whoever typed an address they do not own must not get mail saying
 * "Hello <their chosen text>" into a stranger's inbox, a phishing vector.
 */
export const greetingName = (user: Pick<UserRow, "fullName" | "emailVerified">): string | null => (user.emailVerified ? user.fullName : null);

const hello = (fullName: string | null) => (fullName ? `Hello ${fullName},` : "Hello,");

const link = (config: Links, path: string, token: string) => `${config.appBaseUrl}/${path}?token=${encodeURIComponent(token)}`;

/** To an address not confirmed yet, by definition: it greets no one by name. */
export function verificationEmail(config: Links, to: string, token: string): RenderedEmail {
  const url = link(config, "verify-email", token);
  const lines = [hello(null), `Confirm your email address for ${config.appName} with this link. It works once, for 24 hours.`];
  const after = ["If you did not create an account, ignore this email."];
  return {
    template: "verify-email",
    to,
    subject: `Confirm your email for ${config.appName}`,
    text: `${text(lines, url)}\n\n${after.join("\n")}`,
    html: layout(config.appName, [...lines, ...after], { label: "Confirm email", url }),
  };
}

/** To the new address, not confirmed yet: it greets no one by name. */
export function emailChangeConfirmation(config: Links, to: string, token: string): RenderedEmail {
  const url = link(config, "verify-email", token);
  const lines = [
    hello(null),
    `Confirm that ${to} is the new email address of your ${config.appName} account. ` +
      "The link works once, for 24 hours; your address changes only when you open it.",
  ];
  const after = ["If you did not ask for this, ignore this email: nothing changes."];
  return {
    template: "email-change-confirm",
    to,
    subject: `Confirm your new email for ${config.appName}`,
    text: `${text(lines, url)}\n\n${after.join("\n")}`,
    html: layout(config.appName, [...lines, ...after], { label: "Confirm new email", url }),
  };
}

/** To the old address: what is happening, and how to undo it when it was not the owner. */
export function emailChangeNotice(config: Links, to: string, fullName: string | null, newEmail: string): RenderedEmail {
  const lines = [
    hello(fullName),
    `Someone asked to change the email address of your ${config.appName} account to ${newEmail}. ` +
      "Nothing changes unless that address confirms the change; until then, this address stays the account's.",
    `If this was not you: sign in to ${config.appName}, set your email to this address (${to}) again, which cancels the change, ` +
      "and change your password, since whoever asked knew it.",
  ];
  return {
    template: "email-change-notice",
    to,
    subject: `Your ${config.appName} email address is being changed`,
    text: text(lines),
    html: layout(config.appName, lines),
  };
}

export function passwordResetEmail(config: Links, to: string, fullName: string | null, token: string): RenderedEmail {
  const url = link(config, "reset-password", token);
  const lines = [hello(fullName), `Choose a new password for ${config.appName} with this link. It works once, for 1 hour.`];
  const after = ["If you did not ask for a reset, ignore this email: your password stays as it is."];
  return {
    template: "reset-password",
    to,
    subject: `Reset your ${config.appName} password`,
    text: `${text(lines, url)}\n\n${after.join("\n")}`,
    html: layout(config.appName, [...lines, ...after], { label: "Reset password", url }),
  };
}

export function passwordChangedEmail(config: Links, to: string, fullName: string | null): RenderedEmail {
  const lines = [
    hello(fullName),
    `The password of your ${config.appName} account was just changed. ` +
      "Every session opened before the change was signed out, and any pending email change or password reset link was cancelled.",
    "If this was not you, reset your password now and contact support.",
  ];
  return {
    template: "password-changed",
    to,
    subject: `Your ${config.appName} password was changed`,
    text: text(lines),
    html: layout(config.appName, lines),
  };
}

/** The second-factor events the account's owner is told about (API.md §7). */
export type MfaNotice = "totp-enabled" | "totp-disabled" | "recovery-codes-regenerated" | "recovery-code-used" | "mfa-reset-by-admin";

const MFA_NOTICES: Record<MfaNotice, { subject: string; line: string }> = {
  "totp-enabled": {
    subject: "Two-factor authentication is on",
    line: "Two-factor authentication was turned on for your account: signing in now also asks for a code from your authenticator app.",
  },
  "totp-disabled": {
    subject: "Two-factor authentication is off",
    line: "Two-factor authentication was turned off for your account: signing in now asks for your password only.",
  },
  "recovery-codes-regenerated": {
    subject: "New recovery codes",
    line: "A new set of recovery codes was made for your account; the previous codes no longer work.",
  },
  "recovery-code-used": {
    subject: "A recovery code was used",
    line: "A recovery code was used to sign in to your account. Each code works once; make a new set when few are left.",
  },
  "mfa-reset-by-admin": {
    subject: "Two-factor authentication was reset",
    line: "An administrator removed two-factor authentication from your account, as asked for when every factor is lost. " +
      "Signing in now asks for your password only; turn two-factor authentication on again.",
  },
};

/** To the account's address: a second factor changed or was used. */
export function mfaNoticeEmail(config: Links, to: string, fullName: string | null, notice: MfaNotice): RenderedEmail {
  const { subject, line } = MFA_NOTICES[notice];
  const lines = [hello(fullName), line, `If this was not you, reset your password now and contact ${config.appName} support.`];
  const template = notice.startsWith("mfa-") ? notice : `mfa-${notice}`;
  return { template, to, subject: `${config.appName}: ${subject}`, text: text(lines), html: layout(config.appName, lines) };
}
