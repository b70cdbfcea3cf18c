import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express, type RequestHandler } from "express";
import type { Deps } from "../deps.js";

/** The Prometheus text of this instance's registry. */
export function serveMetrics(deps: Pick<Deps, "metrics">): RequestHandler {
  return async (_req, res) => {
    res.setHeader("Content-Type", deps.metrics.registry.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.send(await deps.metrics.registry.metrics());
  };
}

/**
 * /metrics on the public listener (API.md §5). Outside production it is open. In production it is
 * served only to `Authorization: Bearer <METRICS_TOKEN>`; with no token configured, or a missing or
 * wrong one, the request falls through to the ordinary 404, so a scanner cannot even tell the
 * endpoint exists (a wrong token is a 404 too, not a 401, for the same reason).
 */
export function publicMetricsRoute(deps: Pick<Deps, "config" | "metrics">): RequestHandler {
  const serve = serveMetrics(deps);
  const { isProduction, metrics } = deps.config;
  const expected = metrics.token === undefined ? undefined : digest(metrics.token);
  return (req, res, next) => {
    if (!isProduction) return serve(req, res, next);
    const presented = /^Bearer (\S+)$/.exec(req.get("authorization") ?? "")?.[1];
    // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
    if (expected && presented !== undefined && timingSafeEqual(digest(presented), expected)) return serve(req, res, next);
    next();
  };
}

/** The separate metrics listener's app: GET /metrics and nothing else. */
export function createMetricsApp(deps: Pick<Deps, "metrics">): Express {
  const app = express();
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
  });
  app.get("/metrics", serveMetrics(deps));
  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  return app;
}

export interface MetricsServer {
  readonly server: Server;
  /** http://host:port of the listener (the real port when METRICS_PORT=0). */
  readonly url: string;
  /** Stops accepting, ends idle keep-alive connections and waits for the rest. */
  close(): Promise<void>;
}

/**
 * Starts the METRICS_PORT listener on METRICS_HOST (default 127.0.0.1, so only the host or its
 * sidecar scrapes it); resolves undefined when METRICS_PORT is unset.
 */
export async function startMetricsServer(deps: Pick<Deps, "config" | "metrics">): Promise<MetricsServer | undefined> {
  const { port, host } = deps.config.metrics;
  if (port === undefined) return undefined;
  const server = createServer(createMetricsApp(deps));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
