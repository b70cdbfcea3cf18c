import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express, { type ErrorRequestHandler, type Express, type Request } from "express";
import { JWKS_MAX_AGE } from "../auth/keys/rotation.service.js";
import { ErrorCode } from "../errors.js";
import { createContext, type Context } from "../graphql/context.js";
import { argumentValueErrorsPlugin, errorLoggingPlugin, formatError } from "../graphql/errors.js";
import { QUERY_LIMITS, hardening } from "../graphql/hardening.js";
import { requestLogPlugin } from "../graphql/request-log.js";
import { buildGatehouseSchema } from "../graphql/schema.js";
import { parseIpAddress } from "../lib/ip.js";
import { isAllowedOrigin } from "../lib/origins.js";
import { safeError } from "../lib/safe-error.js";
import type { Deps, RequestMeta } from "../deps.js";
import { publicMetricsRoute } from "./metrics-server.js";

/** Large enough for any real operation, small enough that a body is never a memory problem. */
export const BODY_LIMIT = "100kb";
const READY_TIMEOUT_MS = 2000;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface App {
  readonly app: Express;
  readonly apollo: ApolloServer<Context>;
  /** Stops Apollo (the HTTP server and dependencies are closed by the caller). */
  stop(): Promise<void>;
}

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
      argumentValueErrorsPlugin(),
      requestLogPlugin(),
      errorLoggingPlugin(),
      config.isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    ],
  });
  await apollo.start();

  const app = express();
  app.disable("x-powered-by");
  // First, so every answer has it: routes, 404s, body-parser and error responses.
  app.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
  });
  // Without TRUST_PROXY, X-Forwarded-For is ignored and the socket address is the client.
  // `true` trusts exactly one hop (the right-most forwarded address); a list trusts those proxies.
  app.set("trust proxy", config.trustProxy === true ? 1 : config.trustProxy === false ? false : [...config.trustProxy]);

  app.use((req, res, next) => {
    const given = req.get("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals["requestId"] = requestId;
    res.setHeader("X-Request-Id", requestId);
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  // Logged when a dependency changes state, not on every probe of an outage.
  const lastState = new Map<string, "ok" | "unavailable">();
  app.get("/readyz", async (_req, res) => {
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
    const [database, redis] = await Promise.all([
      check("database", deps.database.ping()),
      deps.redis ? check("redis", deps.redis.ping()) : undefined,
    ]);
    // ES256: an instance whose ENCRYPTION_SECRET opens no signing key can verify but not log anyone in.
    const signing = config.jwt.algorithm === "ES256" ? (deps.keys.signer() ? ("ok" as const) : ("unavailable" as const)) : undefined;
    const ready = database === "ok" && (redis === undefined || redis === "ok") && signing !== "unavailable";
    res.status(ready ? 200 : 503).json({
      status: ready ? "ready" : "unavailable",
      checks: { database, ...(signing ? { signing } : {}), ...(redis ? { redis, rateLimits: deps.rateLimiter.status() } : {}) },
    });
  });

  // What another service needs to verify our access tokens without calling us. Public data: any origin
  // may read it (a verifier in a browser or an edge runtime), without credentials.
  app.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cache-Control", `public, max-age=${JWKS_MAX_AGE}`);
    res.json(deps.keys.jwks());
  });
  app.get("/.well-known/openid-configuration", (req, res) => {
    // PUBLIC_URL when set: behind a proxy without TRUST_PROXY the request's own origin is the inner one.
    const base = config.publicUrl ?? `${req.protocol}://${req.host}`;
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cache-Control", `public, max-age=${JWKS_MAX_AGE}`);
    // Gatehouse is no OpenID provider (no authorization endpoint, no ID tokens): the document is there
    // so that libraries which discover keys from the issuer find them; issuer is the tokens' `iss`.
    res.json({ issuer: config.jwt.issuer, jwks_uri: `${base}/.well-known/jwks.json` });
  });

  // Production: only with METRICS_TOKEN, else the 404 below (METRICS_PORT serves it privately).
  app.get("/metrics", publicMetricsRoute(deps));

  app.use(
    "/graphql",
    (_req, res, next) => {
      // Answers carry tokens and personal data: no shared or browser cache may keep them.
      res.setHeader("Cache-Control", "no-store");
      next();
    },
    cors(corsOptions(config)),
    express.json({ limit: BODY_LIMIT }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) =>
        createContext(deps, requestMeta(req, res.locals["requestId"] as string), req.get("authorization"), {
          header: (name) => req.get(name),
          setCookie: (serialized) => void res.append("Set-Cookie", serialized),
          secure: () => req.secure,
          // req.host: the Host header (X-Forwarded-Host behind a trusted proxy), port included.
          ownOrigin: () => `${req.protocol}://${req.host}`,
        }),
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });

  // Body-parser failures (bad JSON, too large) answer in GraphQL's error shape, not an HTML page.
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) logger.error({ requestId: res.locals["requestId"], err: safeError(err) }, "unexpected HTTP error");
    const message =
      status === 413
        ? `Request body is larger than ${BODY_LIMIT}`
        : status === 400
          ? "Request body is not valid JSON"
          : status === 500
            ? "Internal server error"
            : "Bad request";
    res.status(status).json({
      errors: [
        {
          message,
          // The request never reached GraphQL: Apollo's BAD_REQUEST, as for its own HTTP-level refusals.
          extensions: { code: status === 500 ? ErrorCode.INTERNAL_SERVER_ERROR : ErrorCode.BAD_REQUEST, timestamp: new Date().toISOString() },
        },
      ],
    });
  };
  app.use(onError);

  return { app, apollo, stop: () => apollo.stop() };
}

/**
 * CORS for /graphql (API.md §6): an allowed origin (lib/origins.ts) may send credentials (the
 * gh_refresh cookie) and the X-Auth-Transport header; any other origin gets no CORS headers at all, so
 * the browser keeps the answer from its page.
 */
function corsOptions(config: Deps["config"]): cors.CorsOptionsDelegate<Request> {
  const shared = {
    methods: ["GET", "POST", "OPTIONS"],
    allowedHeaders: ["Content-Type", "Authorization", "Apollo-Require-Preflight", "X-Apollo-Operation-Name", "X-Request-Id", "X-Auth-Transport"],
    exposedHeaders: ["X-Request-Id"],
    maxAge: 600,
  };
  const allowed: cors.CorsOptions = { ...shared, origin: true, credentials: true };
  const refused: cors.CorsOptions = { ...shared, origin: false };
  return (req, callback) => {
    const origin = req.get("origin");
    callback(null, origin !== undefined && isAllowedOrigin(config, origin) ? allowed : refused);
  };
}

function requestMeta(req: Request, requestId: string): RequestMeta {
  const socket = req.socket.remoteAddress;
  // With TRUST_PROXY, req.ip is the forwarded entry exactly as a client or proxy wrote it: only an IP
  // address (port stripped) is taken; junk, a hostname or an overlong value means the socket address.
  const forwarded = req.ip !== undefined && req.ip !== socket ? parseIpAddress(req.ip) : null;
  return {
    requestId,
    // Canonical form: "::ffff:127.0.0.1" and "127.0.0.1" are one client.
    ip: forwarded ?? parseIpAddress(socket),
    userAgent: req.get("user-agent") ?? null,
  };
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
