import type { MailMessage, MailTransport } from "../../src/email/transport.js";

/** A transport that keeps every email, for tests that follow links. */
export interface Mailbox extends MailTransport {
  readonly sent: MailMessage[];
  /** Resolves with the first email to `to` matching `subject` that arrives (already there or later). */
  waitFor(to: string, subject?: RegExp, timeoutMs?: number): Promise<MailMessage>;
  /** The token of the first link with this path in an email. */
  tokenFrom(message: MailMessage, path: "verify-email" | "reset-password"): string;
}

export function createMailbox(): Mailbox {
  const sent: MailMessage[] = [];
  const matches = (m: MailMessage, to: string, subject?: RegExp) => m.to === to && (!subject || subject.test(m.subject));
  return {
    name: "log",
    sent,
    async send(message) {
      sent.push(message);
      return { ok: true, providerId: `mem-${sent.length}` };
    },
    async waitFor(to, subject, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = sent.find((m) => matches(m, to, subject));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no email to ${to}${subject ? ` matching ${subject}` : ""} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    tokenFrom(message, path) {
      const m = new RegExp(`/${path}\\?token=([A-Za-z0-9_%-]+)`).exec(message.text);
      if (!m) throw new Error(`no ${path} link in: ${message.text}`);
      return decodeURIComponent(m[1]!);
    },
  };
}
