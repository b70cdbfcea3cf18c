import pino, { type Logger } from "pino";
import type { Config } from "../config.js";

/**
 * Paths that may hold a secret in anything we log. Driver errors are handled separately by
 * safeError() (lib/safe-error.ts), because their messages embed SQL parameters.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "authorization",
  "password",
  "*.password",
  "*.currentPassword",
  "*.newPassword",
  "*.token",
  "*.accessToken",
  "*.refreshToken",
  "variables",
  "*.variables",
];

export function createLogger(config: Pick<Config, "logLevel" | "isProduction" | "env">): Logger {
  const pretty = !config.isProduction && config.env !== "test" && process.stdout.isTTY;
  return pino({
    level: config.logLevel,
    base: { service: "gatehouse" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" } } } : {}),
  });
}
