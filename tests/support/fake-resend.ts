import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeDelivery {
  id: string;
  idempotencyKey: string | null;
  body: { from: string; to: string | string[]; subject: string; text: string; html: string };
}

export type FakeMode = "up" | "down" | "network" | "reject";

/**
 * A local stand-in for Resend's HTTP API: POST /emails, as the SDK calls it. It can fail on demand
 * (5xx, a dropped connection, or a 422 refusal) and, like Resend, answers a repeated Idempotency-Key
 * with the first result instead of sending again.
 */
export interface FakeResend {
  url: string;
  deliveries: FakeDelivery[];
  /** Every POST /emails, including refused and repeated ones. */
  requests: number;
  /** Requests whose Idempotency-Key had already been delivered. */
  duplicates: number;
  mode: FakeMode;
  /** Milliseconds to wait before answering. */
  delayMs: number;
  /** Resolves when the next request arrives. */
  nextRequest(): Promise<void>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

export async function startFakeResend(): Promise<FakeResend> {
  const byKey = new Map<string, string>();
  let waiters: Array<() => void> = [];
  const fake: FakeResend = {
    url: "",
    deliveries: [],
    requests: 0,
    duplicates: 0,
    mode: "up",
    delayMs: 0,
    nextRequest: () => new Promise<void>((resolve) => waiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    if (req.method !== "POST" || req.url !== "/emails") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 404, name: "not_found", message: "no route" }));
      return;
    }
    fake.requests += 1;
    const notify = waiters;
    waiters = [];
    notify.forEach((w) => w());
    const body = (await readJson(req)) as FakeDelivery["body"];
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    if (req.headers.authorization !== "Bearer re_test_key") {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 401, name: "missing_api_key", message: "bad key" }));
      return;
    }
    if (fake.mode === "network") {
      req.socket.destroy();
      return;
    }
    if (fake.mode === "down") {
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(JSON.stringify({ statusCode: 503, name: "internal_server_error", message: "down for the test" }));
      return;
    }
    if (fake.mode === "reject") {
      res
        .writeHead(422, { "content-type": "application/json" })
        .end(JSON.stringify({ statusCode: 422, name: "validation_error", message: "Invalid `to` field" }));
      return;
    }
    const key = (req.headers["idempotency-key"] as string | undefined) ?? null;
    const seen = key ? byKey.get(key) : undefined;
    if (seen) {
      fake.duplicates += 1;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: seen }));
      return;
    }
    const id = randomUUID();
    if (key) byKey.set(key, id);
    fake.deliveries.push({ id, idempotencyKey: key, body });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** The environment that points Gatehouse at a fake. */
export const resendEnv = (fake: FakeResend): Record<string, string> => ({
  MAIL_TRANSPORT: "resend",
  RESEND_API_KEY: "re_test_key",
  EMAIL_FROM: "Gatehouse <no-reply@example.com>",
  RESEND_BASE_URL: fake.url,
});
