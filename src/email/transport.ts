import { createTransport } from "nodemailer";
import type { Logger } from "pino";
import { Resend } from "resend";
import type { Config } from "../config.js";

export interface MailMessage {
  /** The outbox row id: the provider's idempotency key, so a retried send is delivered once. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export type SendResult =
  | { ok: true; providerId: string | null }
  | { ok: false; retryable: boolean; error: string };

export interface MailTransport {
  readonly name: "resend" | "smtp" | "log";
  send(message: MailMessage): Promise<SendResult>;
}

/** A send that has not answered by then is treated as failed; the idempotency key makes the retry safe. */
const SEND_TIMEOUT_MS = 30_000;
const TIMED_OUT = { ok: false, retryable: true, error: `no answer within ${SEND_TIMEOUT_MS} ms` } as const;

/** The send, or "timeout" once SEND_TIMEOUT_MS have passed without an answer (the timer never outlives it). */
async function withinSendTimeout<T>(send: Promise<T>): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), SEND_TIMEOUT_MS);
  });
  try {
    return await Promise.race([send, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createResendTransport(mail: Config["mail"]): MailTransport {
  if (!mail.resendApiKey || !mail.from) throw new Error("Resend needs RESEND_API_KEY and EMAIL_FROM");
  const resend = new Resend(mail.resendApiKey, mail.resendBaseUrl ? { baseUrl: mail.resendBaseUrl } : undefined);
  const from = mail.from;
  return {
    name: "resend",
    async send(message) {
      // emails.send never throws: failures come back in `error` (statusCode null: the network).
      const result = await withinSendTimeout(
        resend.emails.send(
          { from, to: message.to, subject: message.subject, text: message.text, html: message.html },
          { idempotencyKey: message.id },
        ),
      );
      if (result === "timeout") return TIMED_OUT;
      if (result.error) {
        const status = (result.error as { statusCode?: number | null }).statusCode ?? null;
        // Network errors, rate limits, concurrent use of the idempotency key and server errors pass;
        // any other 4xx (a refused address, a bad sender) will not get better by retrying.
        const retryable = status === null || status === 409 || status === 429 || status >= 500;
        return { ok: false, retryable, error: `resend ${status ?? "network"}: ${result.error.name}: ${result.error.message}`.slice(0, 500) };
      }
      return { ok: true, providerId: result.data?.id ?? null };
    },
  };
}

/** Bounds on each SMTP phase, inside the whole send's SEND_TIMEOUT_MS. */
const SMTP_CONNECT_TIMEOUT_MS = 10_000;
const SMTP_SOCKET_TIMEOUT_MS = 20_000;

/** The Message-ID of an outbox row: the same on every retry, so a repeated delivery is recognisable. */
export function messageIdFor(id: string, from: string): string {
  // The sender's domain (EMAIL_FROM may be `Name <a@b>`), so the id is one the sender can vouch for.
  const domain = /@([A-Za-z0-9.-]+)/.exec(from)?.[1] ?? "gatehouse.invalid";
  return `<${id}@${domain}>`;
}

/**
 * Reply codes 4xx are temporary by SMTP's own definition (greylisting, a full queue) and 5xx final;
 * an error without a reply (refused connection, timeout, TLS) is the network, so it is retried too.
 */
function classifySmtpError(err: unknown): { retryable: boolean; error: string } {
  const e = err as { responseCode?: unknown; code?: unknown; message?: unknown };
  const reply = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  // EENVELOPE / EMESSAGE without a reply: the message itself was refused before it left (no recipient, bad header).
  const retryable = reply !== undefined ? reply < 500 : code !== "EENVELOPE" && code !== "EMESSAGE";
  // nodemailer's messages carry the server's reply, never the credentials.
  const message = typeof e.message === "string" ? e.message : String(err);
  return { retryable, error: `smtp ${reply ?? code ?? "error"}: ${message}`.slice(0, 500) };
}

/**
 * SMTP through nodemailer (SMTP_URL). One connection per send: the outbox sends one message at a time,
 * and a pooled connection would outlive a server restart on the far side only to fail the next send.
 */
export function createSmtpTransport(mail: Config["mail"]): MailTransport {
  if (!mail.smtpUrl || !mail.from) throw new Error("SMTP needs SMTP_URL and EMAIL_FROM");
  const transporter = createTransport({
    url: mail.smtpUrl,
    connectionTimeout: SMTP_CONNECT_TIMEOUT_MS,
    greetingTimeout: SMTP_CONNECT_TIMEOUT_MS,
    socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
    // nodemailer's own logger would print the AUTH exchange; errors come back through sendMail.
    logger: false,
    debug: false,
  });
  const from = mail.from;
  return {
    name: "smtp",
    async send(message) {
      try {
        const result = await withinSendTimeout(
          transporter.sendMail({
            from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
            messageId: messageIdFor(message.id, from),
          }),
        );
        if (result === "timeout") return TIMED_OUT;
        return { ok: true, providerId: result.messageId ?? null };
      } catch (err) {
        return { ok: false, ...classifySmtpError(err) };
      }
    },
  };
}

/**
 * The development transport: prints each email with its links, so a person running `npm start` can
 * follow every flow from the terminal. Never used in production unless MAIL_TRANSPORT=log says so.
 */
export function createLogTransport(logger: Logger): MailTransport {
  return {
    name: "log",
    async send(message) {
      logger.info({ email: { id: message.id, to: message.to, subject: message.subject } }, `email to ${message.to}: ${message.subject}\n\n${message.text}\n`);
      return { ok: true, providerId: null };
    },
  };
}

/** The transport the configuration selects (MAIL_TRANSPORT, or the settings present). */
export function createMailTransport(config: Config, logger: Logger): MailTransport {
  switch (config.mail.transport) {
    case "resend":
      return createResendTransport(config.mail);
    case "smtp":
      return createSmtpTransport(config.mail);
    case "log":
      return createLogTransport(logger);
  }
}
