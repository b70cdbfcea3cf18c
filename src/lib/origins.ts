import type { Config } from "../config.js";

/** Any port on the two loopback names, plain http: a frontend's dev server (Vite, Next, …). */
const LOOPBACK_HTTP_ORIGIN = /^http:\/\/(?:localhost|127\.0\.0\.1)(?::\d{1,5})?$/;

/**
 * Whether a browser origin may call the API with credentials (API.md §6): exactly CORS_ORIGINS when it
 * is set, and always in production (where unset means none); otherwise, so that a local frontend works
 * out of the box, any http://localhost:<port> and http://127.0.0.1:<port>.
 */
export function isAllowedOrigin(config: Pick<Config, "corsOrigins" | "isProduction">, origin: string): boolean {
  if (config.corsOrigins.length > 0 || config.isProduction) return config.corsOrigins.includes(origin);
  return LOOPBACK_HTTP_ORIGIN.test(origin);
}
