import "reflect-metadata";
import { ServerResponse, createServer } from "node:http";
import { ConfigError, loadConfig } from "../config.js";
import { createLogger } from "../lib/logger.js";
import { safeError } from "../lib/safe-error.js";
import { lockDataDir } from "./data-dir-lock.js";
import { createApp } from "./app.js";
import { bootstrapAdmin } from "../admin/create-admin.service.js";
import { startMetricsServer } from "./metrics-server.js";
import { createDeps } from "./create-deps.js";

/** Bounded wait for in-flight requests on shutdown; then their connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;
/**
 * The whole shutdown's bound: the grace period plus time for the outbox's current send, the database,
 * Redis and the log. Past it the process names the step it was waiting for and exits 1, so a
 * supervisor is never left with an instance that neither serves nor ends.
 */
const SHUTDOWN_DEADLINE_MS = SHUTDOWN_GRACE_MS + 5_000;
/**
 * A signal sent to the whole process group (Ctrl-C in a terminal, `kill -- -pgid`) reaches node twice
 * under `npm start`: directly, and forwarded by npm. A repeat this soon is that same signal.
 */
const SAME_SIGNAL_MS = 1_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { persistDevSecret: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config);
  const releaseLock = config.databaseUrl ? undefined : await lockDataDir(config.dataDir);
  const deps = await createDeps(config, logger);
  await bootstrapAdmin(deps);
  const { handler, stop } = await createApp(deps);
  deps.outbox.start();
  await deps.keys.start();

  const drain = keepAliveDrain();
  const server = createServer({ ServerResponse: drain.ServerResponse }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const metricsServer = await startMetricsServer(deps);
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, "metrics listener ready");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  logger.info(
    { port, host: config.host, database: deps.database.kind, env: config.env },
    `Gatehouse ready at http://${shownHost}:${port}/graphql`,
  );

  let stoppingSince: number | undefined;
  const shutdown = async (signal: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, "shutting down");
    drain.start();
    // Each step says what it waits for, so a shutdown that overruns can name the culprit.
    const waiting = new Set<string>();
    let clean = true;
    const step = async (name: string, work: () => Promise<unknown> | undefined) => {
      waiting.add(name);
      try {
        await work();
      } catch (err) {
        clean = false;
        logger.error({ step: name, err: safeError(err) }, "shutdown step failed");
      } finally {
        waiting.delete(name);
      }
    };
    // Not unref()'d: a step that waits on nothing the event loop tracks must still end in exit 1, not 0.
    setTimeout(() => {
      const waitingFor = [...waiting];
      logger.error({ waitingFor, deadlineMs: SHUTDOWN_DEADLINE_MS }, `shutdown did not finish in time; still waiting for: ${waitingFor.join(", ")}`);
      // The log itself may be what hangs: say it on stderr too.
      if (waiting.has("log flush")) process.stderr.write(`Gatehouse shutdown deadline passed; still waiting for: ${waitingFor.join(", ")}\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    const force = setTimeout(() => {
      logger.warn("in-flight requests did not finish in time; closing connections");
      server.closeAllConnections();
      metricsServer?.server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    await Promise.all([
      step(
        "http server",
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      ),
      step("metrics server", () => metricsServer?.close()),
    ]);
    await step("graphql server", stop);
    await step("outbox", () => deps.outbox.stop());
    await step("signing keys", () => deps.keys.stop());
    await step("database", () => deps.database.close());
    // A Redis that is already away has nothing to flush: its QUIT failing is not an unclean stop.
    await step("redis", () => deps.redis?.quit().catch(() => undefined));
    await step("data dir lock", () => releaseLock?.());
    logger.info(clean ? "stopped" : "stopped, not cleanly (see above)");
    await step("log flush", () => new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve()))));
    process.exit(clean ? 0 : 1);
  };
  process.on("SIGTERM", (s) => void shutdown(s));
  process.on("SIGINT", (s) => void shutdown(s));
}

/**
 * Ends keep-alive connections as their requests finish once shutdown has begun. Node's server.close()
 * stops accepting and ends idle connections, but a connection busy at that moment stays open after its
 * response and keeps serving whatever arrives on it: a proxy that pools connections (nginx `keepalive`)
 * keeps sending requests to the stopping instance until the grace period cuts them off. With
 * "Connection: close" on every response from then on, the proxy learns from the response itself that
 * the connection ends, opens a new one, is refused and uses another instance.
 *
 * The check sits in writeHead, which every response passes through (res.end() included), so a request
 * costs nothing for it until shutdown and one still in flight then is caught when it answers.
 */
function keepAliveDrain(): { ServerResponse: typeof ServerResponse; start(): void } {
  let draining = false;
  class DrainingResponse extends ServerResponse {
    override writeHead(...args: unknown[]): this {
      if (draining && !this.headersSent) this.setHeader("Connection", "close");
      return (super.writeHead as (...a: unknown[]) => this)(...args);
    }
  }
  return {
    ServerResponse: DrainingResponse as typeof ServerResponse,
    start() {
      draining = true;
    },
  };
}

main().catch((err: unknown) => {
  // One line, without driver internals: the reason start-up failed.
  const safe = safeError(err);
  console.error(`Gatehouse failed to start: ${String(safe["message"] ?? safe["sqlstate"] ?? safe["errno"] ?? safe["type"])}`);
  process.exit(1);
});
