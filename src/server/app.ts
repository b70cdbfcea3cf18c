import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { JWKS_MAX_AGE } from "../auth/keys/rotation.service.js";
import { ErrorCode } from "../errors.js";
import type { Context } from "../graphql/context.js";
import { formatError } from "../graphql/errors.js";
import { QUERY_LIMITS, hardening } from "../graphql/hardening.js";
import { requestPlugin } from "../graphql/request-log.js";
import { buildGatehouseSchema } from "../graphql/schema.js";
import { safeError } from "../lib/safe-error.js";
import type { Deps } from "../deps.js";
import { graphqlRoute } from "./graphql-route.js";
import { HttpError, sendJson } from "./http.js";
import { publicMetricsRoute } from "./metrics-server.js";
import { clientView } from "./proxy.js";

/** Large enough for any real operation, small enough that a body is never a memory problem. */
export const BODY_LIMIT = "100kb";
const BODY_LIMIT_BYTES = 100 * 1024;
const READY_TIMEOUT_MS = 2000;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The whole HTTP application, for node:http's "request" event. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface App {
  readonly handler: RequestHandler;
  readonly apollo: ApolloServer<Context>;
  /** Stops Apollo (the HTTP server and dependencies are closed by the caller). */
  stop(): Promise<void>;
}

/** A route: answers with `headers` (X-Content-Type-Options and X-Request-Id already in). */
type Route = (req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, requestId: string) => void;

/** Builds the HTTP application; it does not listen (main.ts and the tests do). */
export async function createApp(deps: Deps): Promise<App> {
  const { config, logger } = deps;
  const guard = hardening();
  const apollo = new ApolloServer<Context>({
    schema: await buildGatehouseSchema(),
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // No "Did you mean …?" suggestions in production: they map the schema for an attacker.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    csrfPrevention: true,
    // main.ts owns shutdown; Apollo's own handler would stop it early and re-send the signal.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    formatError: (formatted, error) => formatError(formatted, error, { hideSuggestions: config.isProduction }),
    logger,
    validationRules: guard.validationRules,
    parseOptions: { maxTokens: QUERY_LIMITS.maxTokens },
    plugins: [
      ...guard.plugins,
      // The request log line, the latency metric, the unexpected-error log and argument-value notes.
      requestPlugin(deps),
      config.isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      // Every /graphql answer is Cache-Control: no-store (graphqlRoute), and no type has a cache hint:
      // the plugin's per-field hooks would only compute that again. Inline traces are for subgraphs.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });
  await apollo.start();

  const client = clientView(config.trustProxy);

  // Body failures (bad JSON, too large) answer in GraphQL's error shape, not an HTML page.
  const refuse = (res: ServerResponse, headers: OutgoingHttpHeaders, err: unknown, requestId: string) => {
    const status = err instanceof HttpError && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) logger.error({ requestId, err: safeError(err) }, "unexpected HTTP error");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message =
      status === 413
        ? `Request body is larger than ${BODY_LIMIT}`
        : status === 400
          ? "Request body is not valid JSON"
          : status === 500
            ? "Internal server error"
            : "Bad request";
    sendJson(res, status, {
      errors: [
        {
          message,
          // The request never reached GraphQL: Apollo's BAD_REQUEST, as for its own HTTP-level refusals.
          extensions: { code: status === 500 ? ErrorCode.INTERNAL_SERVER_ERROR : ErrorCode.BAD_REQUEST, timestamp: new Date().toISOString() },
        },
      ],
    }, headers);
  };
  const graphql: Route = graphqlRoute(apollo, deps, client, BODY_LIMIT_BYTES, refuse);

  const notFound: Route = (_req, res, headers) => sendJson(res, 404, { error: "not found" }, headers);

  // Logged when a dependency changes state, not on every probe of an outage.
  const lastState = new Map<string, "ok" | "unavailable">();
  const readyz: Route = (_req, res, headers, requestId) => {
    const check = (name: string, ping: Promise<unknown>) =>
      withTimeout(ping, READY_TIMEOUT_MS).then(
        () => {
          if (lastState.get(name) === "unavailable") logger.info(`readiness: ${name} answers again`);
          lastState.set(name, "ok");
          return "ok" as const;
        },
        (err: unknown) => {
          if (lastState.get(name) !== "unavailable") logger.warn({ err: safeError(err) }, `readiness: ${name} did not answer`);
          lastState.set(name, "unavailable");
          return "unavailable" as const;
        },
      );
    void Promise.all([check("database", deps.database.ping()), deps.redis ? check("redis", deps.redis.ping()) : undefined])
      .then(([database, redis]) => {
        // ES256: an instance whose ENCRYPTION_SECRET opens no signing key can verify but not log anyone in.
        const signing = config.jwt.algorithm === "ES256" ? (deps.keys.signer() ? ("ok" as const) : ("unavailable" as const)) : undefined;
        const ready = database === "ok" && (redis === undefined || redis === "ok") && signing !== "unavailable";
        sendJson(res, ready ? 200 : 503, {
          status: ready ? "ready" : "unavailable",
          checks: { database, ...(signing ? { signing } : {}), ...(redis ? { redis, rateLimits: deps.rateLimiter.status() } : {}) },
        }, headers);
      })
      .catch((err: unknown) => refuse(res, headers, err, requestId));
  };

  // What another service needs to verify our access tokens without calling us. Public data: any origin
  // may read it (a verifier in a browser or an edge runtime), without credentials.
  const publicDocument = (headers: OutgoingHttpHeaders) => {
    headers["access-control-allow-origin"] = "*";
    headers["cache-control"] = `public, max-age=${JWKS_MAX_AGE}`;
    return headers;
  };
  const jwks: Route = (_req, res, headers) => sendJson(res, 200, deps.keys.jwks(), publicDocument(headers));
  const openidConfiguration: Route = (req, res, headers) => {
    // PUBLIC_URL when set: behind a proxy without TRUST_PROXY the request's own origin is the inner one.
    const base = config.publicUrl ?? `${client.protocol(req)}://${client.host(req)}`;
    // Gatehouse is no OpenID provider (no authorization endpoint, no ID tokens): the document is there
    // so that libraries which discover keys from the issuer find them; issuer is the tokens' `iss`.
    sendJson(res, 200, { issuer: config.jwt.issuer, jwks_uri: `${base}/.well-known/jwks.json` }, publicDocument(headers));
  };
  // Production: only with METRICS_TOKEN, else the 404 (METRICS_PORT serves it privately).
  const metrics = publicMetricsRoute(deps);

  /** GET routes (HEAD too, as Express answered them); every method reaches /graphql. */
  const gets = new Map<string, Route>([
    ["/healthz", (_req, res, headers) => sendJson(res, 200, { status: "ok" }, headers)],
    ["/readyz", readyz],
    ["/.well-known/jwks.json", jwks],
    ["/.well-known/openid-configuration", openidConfiguration],
    ["/metrics", (req, res, headers, requestId) => metrics(req, res, headers, () => notFound(req, res, headers, requestId))],
  ]);

  const handler: RequestHandler = (req, res) => {
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    // On every answer: routes, 404s and refused bodies.
    const headers: OutgoingHttpHeaders = { "x-content-type-options": "nosniff", "x-request-id": requestId };
    const path = routePath(req.url ?? "/");
    if (path === "/graphql" || path.startsWith("/graphql/")) return graphql(req, res, headers, requestId);
    const route = req.method === "GET" || req.method === "HEAD" ? gets.get(path) : undefined;
    (route ?? notFound)(req, res, headers, requestId);
  };

  return { handler, apollo, stop: () => apollo.stop() };
}

/**
 * The path a route is chosen by, as Express matched it: without the query, lower-cased (routes are
 * case-insensitive), one trailing slash ignored; an absolute-form target ("http://host/path") by its path.
 */
function routePath(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* "/" */) {
    const scheme = url.indexOf("://");
    start = scheme === -1 ? 0 : url.indexOf("/", scheme + 3);
    if (start === -1) return "/";
  }
  const query = url.indexOf("?", start);
  let end = query === -1 ? url.length : query;
  if (end - start > 1 && url.charCodeAt(end - 1) === 47) end -= 1;
  const path = start === 0 && end === url.length ? url : url.slice(start, end);
  return path.toLowerCase();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
