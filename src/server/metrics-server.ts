import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Deps } from "../deps.js";
import { sendJson, sendText } from "./http.js";

type MetricsRoute = (req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, next: () => void) => void;

/** The Prometheus text of this instance's registry. */
export function serveMetrics(deps: Pick<Deps, "metrics">): MetricsRoute {
  const { registry } = deps.metrics;
  return (_req, res, headers) => {
    registry.metrics().then(
      (text) => {
        headers["content-type"] = registry.contentType;
        headers["cache-control"] = "no-store";
        sendText(res, 200, text, headers);
      },
      () => sendJson(res, 500, { error: "internal server error" }, headers),
    );
  };
}

/**
 * /metrics on the public listener (API.md §5). Outside production it is open. In production it is
 * served only to `Authorization: Bearer <METRICS_TOKEN>`; with no token configured, or a missing or
 * wrong one, the request falls through to the ordinary 404, so a scanner cannot even tell the
 * endpoint exists (a wrong token is a 404 too, not a 401, for the same reason).
 */
export function publicMetricsRoute(deps: Pick<Deps, "config" | "metrics">): MetricsRoute {
  const serve = serveMetrics(deps);
  const { isProduction, metrics } = deps.config;
  const expected = metrics.token === undefined ? undefined : digest(metrics.token);
  return (req, res, headers, next) => {
    if (!isProduction) return serve(req, res, headers, next);
    const presented = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
    if (expected && presented !== undefined && timingSafeEqual(digest(presented), expected)) return serve(req, res, headers, next);
    next();
  };
}

/** The separate metrics listener's handler: GET /metrics and nothing else (a 404 in JSON). */
export function createMetricsHandler(deps: Pick<Deps, "metrics">): (req: IncomingMessage, res: ServerResponse) => void {
  const serve = serveMetrics(deps);
  return (req, res) => {
    const headers: OutgoingHttpHeaders = { "x-content-type-options": "nosniff" };
    const notFound = () => sendJson(res, 404, { error: "not found" }, headers);
    const path = (req.url ?? "/").split("?", 1)[0]!.toLowerCase().replace(/(.)\/$/, "$1");
    if ((req.method === "GET" || req.method === "HEAD") && path === "/metrics") return serve(req, res, headers, notFound);
    notFound();
  };
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
  const server = createServer(createMetricsHandler(deps));
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
