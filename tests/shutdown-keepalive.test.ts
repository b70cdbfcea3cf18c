/*
 * Draining behind a proxy that pools connections (nginx `keepalive`, examples/deploy/nginx.conf): a
 * request in flight when SIGTERM arrives is answered, with "Connection: close", and its connection
 * ends; without that, Node keeps the connection open after the response and serves whatever the proxy
 * sends next until the grace period cuts it off mid-request.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../scripts/server-process.js";
import { backend } from "./support/database.js";
import { TEST_JWT_SECRET } from "./support/server.js";

/** Resolves once `predicate` holds for the text received so far (or rejects after `ms`). */
function waitFor(read: () => string, predicate: (text: string) => boolean, what: string, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = () => {
      if (predicate(read())) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}:\n${read()}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

describe.skipIf(backend !== "pglite")("SIGTERM with a keep-alive connection in flight", () => {
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "gatehouse-drain-"));
    server = await startServerProcess({ DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET });
  }, 90_000);
  afterAll(async () => {
    await server?.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers the request with Connection: close and ends the connection, and the process exits 0", async () => {
    const url = new URL(server.url);
    const socket: Socket = connect(Number(url.port), url.hostname);
    let received = "";
    let ended = false;
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("end", () => (ended = true));
    socket.on("close", () => (ended = true));
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));

    // A keep-alive request in flight: its headers are in, the body is still on its way.
    const body = JSON.stringify({ query: "{ __typename }" });
    const head = `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    // A first request on the same connection proves it is a kept-alive one before the signal.
    socket.write(head + body);
    await waitFor(() => received, (t) => t.includes('"__typename":"Query"'), "the first answer");
    expect(received).toMatch(/\r\nConnection: keep-alive\r\n/i);
    received = "";
    socket.write(head);
    await new Promise((r) => setTimeout(r, 200));

    const exit = server.stop("SIGTERM");
    await waitFor(server.output, (t) => t.includes('"msg":"shutting down"'), "the shutdown to begin");
    socket.write(body);
    await waitFor(() => received, (t) => t.includes('"__typename":"Query"'), "the in-flight answer");
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\nConnection: close\r\n/i);
    await waitFor(() => (ended ? "ended" : ""), (t) => t === "ended", "the server to end the connection");

    expect(await exit).toBe(0);
    expect(server.output()).not.toContain("in-flight requests did not finish in time");
    socket.destroy();
  }, 60_000);
});
