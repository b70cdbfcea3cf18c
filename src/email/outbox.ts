import { randomUUID } from "node:crypto";
import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Db, Queryable } from "../db/client.js";
import { emailOutbox, type EmailOutboxRow } from "../db/schema.js";
import { safeError } from "../lib/safe-error.js";
import { isSealed, open, seal, sealingKeyFor } from "../lib/sealed.js";
import type { RenderedEmail } from "./templates.js";
import type { MailTransport } from "./transport.js";
import type { OutboxWorker } from "../deps.js";

/** How long a claimed row is reserved for one worker; longer than a send can take (30 s timeout). */
const LEASE_SECONDS = 120;
/** A row still undelivered this long after it was written is given up and logged. */
export const GIVE_UP_AFTER_SECONDS = 24 * 3600;
const FIRST_RETRY_SECONDS = 5;
const MAX_RETRY_SECONDS = 600;
const BATCH = 10;

type OutboxKeyConfig = Pick<Config, "encryptionSecret">;

/** The key of the outbox bodies (its own HKDF purpose, so no other sealed value opens with it). */
const outboxKey = sealingKeyFor("gatehouse outbox body v1");

// Bound to the row and the column: a body cannot be moved to another email and still open.
const bodyContext = (id: string, part: "text" | "html") => `email_outbox/${id}/${part}`;

/**
 * Call with the transaction that makes the change causing the email: both commit, or neither.
 * The bodies hold live links, so they are stored sealed (AES-256-GCM) and opened only to send.
 */
export async function enqueueEmail(tx: Queryable, config: OutboxKeyConfig, email: RenderedEmail): Promise<string> {
  const id = randomUUID();
  const key = outboxKey(config);
  await tx.insert(emailOutbox).values({
    id,
    template: email.template,
    toAddress: email.to,
    subject: email.subject,
    textBody: seal(key, email.text, bodyContext(id, "text")),
    htmlBody: seal(key, email.html, bodyContext(id, "html")),
  });
  return id;
}

/**
 * The bodies of a claimed row in clear, or null when they do not open under the current key (the
 * secret changed, or the row was altered). Rows written before bodies were sealed are sent as they are.
 */
function openBodies(config: OutboxKeyConfig, row: EmailOutboxRow & { textBody: string; htmlBody: string }): { text: string; html: string } | null {
  const key = outboxKey(config);
  try {
    return {
      text: isSealed(row.textBody) ? open(key, row.textBody, bodyContext(row.id, "text")) : row.textBody,
      html: isSealed(row.htmlBody) ? open(key, row.htmlBody, bodyContext(row.id, "html")) : row.htmlBody,
    };
  } catch {
    return null;
  }
}

/** 5 s, 10 s, 20 s … capped at 10 min, with ±20% jitter so instances do not retry in lockstep. */
export function retryDelaySeconds(attempts: number): number {
  const base = Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4)));
}

/**
 * Claims up to `limit` due rows for this worker. SKIP LOCKED lets instances claim side by side without
 * waiting on each other; the lease (locked_until) keeps a row from being claimed twice while it is
 * being sent outside any transaction, and frees it again if this process dies mid-send.
 */
export async function claimDueEmails(db: Db, limit = BATCH): Promise<EmailOutboxRow[]> {
  const due = db
    .select({ id: emailOutbox.id })
    .from(emailOutbox)
    .where(
      and(
        eq(emailOutbox.status, "PENDING"),
        lte(emailOutbox.nextAttemptAt, sql`now()`),
        or(isNull(emailOutbox.lockedUntil), lte(emailOutbox.lockedUntil, sql`now()`)),
      ),
    )
    .orderBy(asc(emailOutbox.nextAttemptAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(emailOutbox)
    .set({ lockedUntil: sql`now() + make_interval(secs => ${LEASE_SECONDS})`, attempts: sql`${emailOutbox.attempts} + 1` })
    .where(inArray(emailOutbox.id, due))
    .returning();
}

async function markSent(db: Db, id: string, providerId: string | null): Promise<void> {
  await db
    .update(emailOutbox)
    .set({ status: "SENT", sentAt: sql`now()`, lockedUntil: null, providerMessageId: providerId, lastError: null, textBody: null, htmlBody: null })
    .where(eq(emailOutbox.id, id));
}

/** Schedules the next attempt, or gives the row up when the error is final or the row is too old. */
async function markFailedAttempt(db: Db, row: EmailOutboxRow, error: string, retryable: boolean): Promise<"retry" | "failed"> {
  const tooOld = Date.now() - row.createdAt.getTime() >= GIVE_UP_AFTER_SECONDS * 1000;
  if (!retryable || tooOld) {
    await db
      .update(emailOutbox)
      .set({ status: "FAILED", lockedUntil: null, lastError: error, textBody: null, htmlBody: null })
      .where(eq(emailOutbox.id, row.id));
    return "failed";
  }
  await db
    .update(emailOutbox)
    .set({
      lockedUntil: null,
      lastError: error,
      nextAttemptAt: sql`now() + make_interval(secs => ${retryDelaySeconds(row.attempts)})`,
    })
    .where(eq(emailOutbox.id, row.id));
  return "retry";
}

export interface OutboxWorkerOptions {
  /** How often to look for due rows when nothing woke the worker. */
  pollIntervalMs?: number;
}

/**
 * The delivery loop that runs in every server process. Any number of them can run against one
 * PostgreSQL: claims never overlap, and the outbox id as idempotency key makes a send that was
 * repeated after a crash deliver once.
 */
export function createOutboxWorker(
  deps: { db: Db; logger: Logger; config: OutboxKeyConfig },
  transport: MailTransport,
  options: OutboxWorkerOptions = {},
): OutboxWorker {
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let pendingWake = false;
  let failingSince: number | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake) {
        pendingWake = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function deliver(row: EmailOutboxRow): Promise<void> {
    if (row.textBody === null || row.htmlBody === null) {
      await markFailedAttempt(deps.db, row, "body missing", false);
      return;
    }
    const body = openBodies(deps.config, { ...row, textBody: row.textBody, htmlBody: row.htmlBody });
    if (!body) {
      // Retrying cannot help: the same key fails the same way. Give up rather than block the loop.
      await markFailedAttempt(deps.db, row, "body cannot be decrypted", false);
      deps.logger.error(
        { outboxId: row.id, template: row.template, attempts: row.attempts },
        "email given up: its body cannot be decrypted with the current key (was ENCRYPTION_SECRET or JWT_SECRET changed?)",
      );
      return;
    }
    let result;
    try {
      result = await transport.send({ id: row.id, to: row.toAddress, subject: row.subject, text: body.text, html: body.html });
    } catch (err) {
      result = { ok: false as const, retryable: true, error: String(safeError(err)["message"] ?? "transport error") };
    }
    if (result.ok) {
      await markSent(deps.db, row.id, result.providerId);
      deps.logger.debug({ outboxId: row.id, template: row.template, attempts: row.attempts }, "email sent");
      return;
    }
    const outcome = await markFailedAttempt(deps.db, row, result.error, result.retryable);
    const entry = { outboxId: row.id, template: row.template, attempts: row.attempts, error: result.error };
    if (outcome === "failed") deps.logger.error(entry, "email given up");
    else deps.logger.warn(entry, "email send failed; will retry");
  }

  async function runOnce(): Promise<number> {
    const rows = await claimDueEmails(deps.db);
    for (const row of rows) await deliver(row);
    return rows.length;
  }

  async function run(): Promise<void> {
    while (running) {
      let handled = 0;
      try {
        handled = await runOnce();
        if (failingSince !== undefined) {
          deps.logger.info({ downForMs: Date.now() - failingSince }, "outbox: database reachable again");
          failingSince = undefined;
        }
      } catch (err) {
        // Logged once per outage, not once per poll.
        if (failingSince === undefined) {
          failingSince = Date.now();
          deps.logger.warn({ err: safeError(err) }, "outbox: cannot reach the database; will keep trying");
        }
      }
      if (running && handled < BATCH) await sleep(failingSince === undefined ? pollIntervalMs : Math.max(pollIntervalMs, 2000));
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
    },
    notify() {
      if (wake) wake();
      else pendingWake = true;
    },
    runOnce,
  };
}
