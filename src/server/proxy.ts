import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import proxyaddr from "proxy-addr";
import type { Config } from "../config.js";

/**
 * What a request says about its client once TRUST_PROXY is applied: Express's req.ip, req.protocol and
 * req.host, with the same rules (proxy-addr decides which X-Forwarded-For hops are trusted). Without
 * TRUST_PROXY the forwarded headers are ignored, and nothing is parsed.
 */
export interface ClientView {
  /** The client's address as the trusted hops give it (unparsed; lib/ip.ts canonicalises it). */
  address(req: IncomingMessage): string | undefined;
  /** "https" or "http", X-Forwarded-Proto's first value from a trusted proxy. */
  protocol(req: IncomingMessage): string;
  /** The Host header, or X-Forwarded-Host's first value from a trusted proxy; port included. */
  host(req: IncomingMessage): string | undefined;
}

/** `true` trusts exactly one hop (the right-most forwarded address); a list trusts those proxies. */
export function clientView(trustProxy: Config["trustProxy"]): ClientView {
  if (trustProxy === false) {
    return {
      address: (req) => req.socket.remoteAddress,
      protocol: (req) => ((req.socket as TLSSocket).encrypted ? "https" : "http"),
      host: (req) => req.headers.host || undefined,
    };
  }
  const trust: (address: string, hop: number) => boolean =
    trustProxy === true ? (_address, hop) => hop < 1 : proxyaddr.compile([...trustProxy]);
  const trustsSocket = (req: IncomingMessage) => trust(req.socket.remoteAddress ?? "", 0);
  const first = (value: string) => {
    const comma = value.indexOf(",");
    return comma === -1 ? value : value.slice(0, comma);
  };
  return {
    address: (req) => proxyaddr(req, trust),
    protocol(req) {
      const own = (req.socket as TLSSocket).encrypted ? "https" : "http";
      if (!trustsSocket(req)) return own;
      return first(header(req, "x-forwarded-proto") || own).trim();
    },
    host(req) {
      const forwarded = header(req, "x-forwarded-host");
      if (!forwarded || !trustsSocket(req)) return req.headers.host || undefined;
      return first(forwarded).trimEnd() || undefined;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
