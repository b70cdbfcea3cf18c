import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from "@apollo/server";
import { createContext, type Context, type HttpExchange } from "../graphql/context.js";
import { parseIpAddress } from "../lib/ip.js";
import { isAllowedOrigin } from "../lib/origins.js";
import type { Deps, RequestMeta } from "../deps.js";
import { readJsonBody, sendText } from "./http.js";
import type { ClientView } from "./proxy.js";

/**
 * CORS for /graphql (API.md §6), as the `cors` package answered it before: an allowed origin
 * (lib/origins.ts) may send credentials (the gh_refresh cookie) and the X-Auth-Transport header, and its
 * preflight is answered 204 here; any other origin gets no CORS headers at all, so the browser keeps the
 * answer from its page, and its OPTIONS goes on to Apollo like any other request.
 */
const CORS_ALLOWED_HEADERS = "Content-Type,Authorization,Apollo-Require-Preflight,X-Apollo-Operation-Name,X-Request-Id,X-Auth-Transport";
const CORS_METHODS = "GET,POST,OPTIONS";
const CORS_EXPOSED_HEADERS = "X-Request-Id";
const CORS_MAX_AGE = "600";

/** The HTTP side of one GraphQL request: headers read on demand, Set-Cookie values collected. */
class NodeExchange implements HttpExchange {
  cookies: string[] | undefined;
  constructor(
    private readonly req: IncomingMessage,
    private readonly client: ClientView,
  ) {}
  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(", ") : value;
  }
  setCookie(serialized: string): void {
    (this.cookies ??= []).push(serialized);
  }
  secure(): boolean {
    return this.client.protocol(this.req) === "https";
  }
  ownOrigin(): string {
    // The Host header (X-Forwarded-Host behind a trusted proxy), port included.
    return `${this.client.protocol(this.req)}://${this.client.host(this.req)}`;
  }
}

/**
 * /graphql: CORS, the JSON body, then Apollo's executeHTTPGraphQLRequest (what
 * @as-integrations/express5 called, without Express around it). `headers` already holds what every
 * answer carries; a body that cannot be read is handed to `refuse`.
 */
export function graphqlRoute(
  apollo: ApolloServer<Context>,
  deps: Deps,
  client: ClientView,
  bodyLimit: number,
  refuse: (res: ServerResponse, headers: OutgoingHttpHeaders, error: unknown, requestId: string) => void,
): (req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, requestId: string) => void {
  const { config } = deps;
  const requestMeta = (req: IncomingMessage, requestId: string): RequestMeta => {
    const socket = req.socket.remoteAddress;
    // With TRUST_PROXY, the forwarded entry exactly as a client or proxy wrote it: only an IP address
    // (port stripped) is taken; junk, a hostname or an overlong value means the socket address.
    const given = client.address(req);
    const forwarded = given !== undefined && given !== socket ? parseIpAddress(given) : null;
    const userAgent = req.headers["user-agent"];
    // Canonical form: "::ffff:127.0.0.1" and "127.0.0.1" are one client.
    return { requestId, ip: forwarded ?? parseIpAddress(socket), userAgent: userAgent ?? null };
  };

  const execute = async (req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, requestId: string, body: unknown) => {
    const requestHeaders = new HeaderMap();
    const raw = req.headers;
    for (const key in raw) {
      const value = raw[key];
      if (value !== undefined) requestHeaders.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const hash = url.indexOf("#", query);
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      headers: requestHeaders,
      search: query === -1 ? "" : hash === -1 ? url.slice(query) : url.slice(query, hash),
      body,
    };
    const exchange = new NodeExchange(req, client);
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => createContext(deps, requestMeta(req, requestId), raw.authorization, exchange),
    });
    for (const [key, value] of answer.headers) headers[key] = value;
    // As Express's res.send did for a text answer (the landing page is "text/html").
    const type = headers["content-type"];
    if (typeof type === "string" && !type.includes("charset=")) headers["content-type"] = `${type}; charset=utf-8`;
    if (exchange.cookies) headers["set-cookie"] = exchange.cookies;
    if (answer.body.kind === "complete") return sendText(res, answer.status ?? 200, answer.body.string, headers);
    res.writeHead(answer.status ?? 200, headers);
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };

  return (req, res, headers, requestId) => {
    // Answers carry tokens and personal data: no shared or browser cache may keep them.
    headers["cache-control"] = "no-store";
    const origin = req.headers.origin;
    if (origin !== undefined && isAllowedOrigin(config, origin)) {
      headers["access-control-allow-origin"] = origin;
      headers["vary"] = "Origin";
      headers["access-control-allow-credentials"] = "true";
      if (req.method === "OPTIONS") {
        headers["access-control-allow-methods"] = CORS_METHODS;
        headers["access-control-allow-headers"] = CORS_ALLOWED_HEADERS;
        headers["access-control-max-age"] = CORS_MAX_AGE;
        headers["access-control-expose-headers"] = CORS_EXPOSED_HEADERS;
        headers["content-length"] = "0";
        res.writeHead(204, headers);
        res.end();
        return;
      }
      headers["access-control-expose-headers"] = CORS_EXPOSED_HEADERS;
    }
    readJsonBody(req, bodyLimit)
      .then((body) => execute(req, res, headers, requestId, body))
      .catch((error: unknown) => refuse(res, headers, error, requestId));
  };
}
