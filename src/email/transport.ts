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
  readonly name: "resend" | "log";
  send(message: MailMessage): Promise<SendResult>;
}

/** A send that has not answered by then is treated as failed; the idempotency key makes the retry safe. */
const SEND_TIMEOUT_MS = 30_000;

export function createResendTransport(mail: Config["mail"]): MailTransport {
  if (!mail.resendApiKey || !mail.from) throw new Error("Resend needs RESEND_API_KEY and EMAIL_FROM");
  const resend = new Resend(mail.resendApiKey, mail.resendBaseUrl ? { baseUrl: mail.resendBaseUrl } : undefined);
  const from = mail.from;
  return {
    name: "resend",
    async send(message) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), SEND_TIMEOUT_MS);
      });
      try {
        // emails.send never throws: failures come back in `error` (statusCode null: the network).
        const result = await Promise.race([
          resend.emails.send(
            { from, to: message.to, subject: message.subject, text: message.text, html: message.html },
            { idempotencyKey: message.id },
          ),
          timeout,
        ]);
        if (result === "timeout") return { ok: false, retryable: true, error: `no answer within ${SEND_TIMEOUT_MS} ms` };
        if (result.error) {
          const status = (result.error as { statusCode?: number | null }).statusCode ?? null;
          // Network errors, rate limits, concurrent use of the idempotency key and server errors pass;
          // any other 4xx (a refused address, a bad sender) will not get better by retrying.
          const retryable = status === null || status === 409 || status === 429 || status >= 500;
          return { ok: false, retryable, error: `resend ${status ?? "network"}: ${result.error.name}: ${result.error.message}`.slice(0, 500) };
        }
        return { ok: true, providerId: result.data?.id ?? null };
      } finally {
        clearTimeout(timer);
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

export function createMailTransport(config: Config, logger: Logger): MailTransport {
  return config.mail.transport === "resend" ? createResendTransport(config.mail) : createLogTransport(logger);
}
