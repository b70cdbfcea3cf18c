import "reflect-metadata";
import { createServer } from "node:http";
import { ConfigError, loadConfig } from "../config.js";
import { createLogger } from "../lib/logger.js";
import { safeError } from "../lib/safe-error.js";
import { lockDataDir } from "./data-dir-lock.js";
import { createApp } from "./app.js";
import { bootstrapAdmin } from "../admin/create-admin.service.js";
import { startMetricsServer } from "./metrics-server.js";
import { createDeps } from "./create-deps.js";

/** Bounded wait for in-flight requests on shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

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
  const { app, stop } = await createApp(deps);
  deps.outbox.start();

  const server = createServer(app);
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

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.warn("in-flight requests did not finish in time; closing connections");
      server.closeAllConnections();
      metricsServer?.server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    await Promise.all([
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
      metricsServer?.close(),
    ]);
    await stop();
    await deps.outbox.stop();
    await deps.database.close();
    await deps.redis?.quit().catch(() => undefined);
    await releaseLock?.();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", (s) => void shutdown(s));
  process.on("SIGINT", (s) => void shutdown(s));
}

main().catch((err: unknown) => {
  // One line, without driver internals: the reason start-up failed.
  const safe = safeError(err);
  console.error(`Gatehouse failed to start: ${String(safe["message"] ?? safe["sqlstate"] ?? safe["errno"] ?? safe["type"])}`);
  process.exit(1);
});
