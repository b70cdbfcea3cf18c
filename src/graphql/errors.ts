import type { ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { isDatabaseUnavailable } from "../db/errors.js";
import { AppError, ErrorCode, type FieldError } from "../errors.js";
import { safeError } from "../lib/safe-error.js";
import type { Context } from "./context.js";
import { loggedOperationName } from "./operation-label.js";

/** Errors that graphql-js and Apollo raise about the request itself, before any resolver runs. */
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/** Best effort: which argument or input field a graphql-js coercion message is about. */
export function fieldsFromRequestError(message: string): FieldError[] {
  const patterns: Array<[RegExp, (m: RegExpExecArray) => string]> = [
    [/^Variable "\$\w+" got invalid value .*? at "([\w.[\]]+)"/s, (m) => m[1]!],
    [/^Variable "\$(\w+)" got invalid value .*?Field "(\w+)" of required type/s, (m) => `${m[1]}.${m[2]}`],
    [/^Variable "\$(\w+)" got invalid value .*?Field "(\w+)" is not defined/s, (m) => `${m[1]}.${m[2]}`],
    [/^Variable "\$(\w+)"/, (m) => m[1]!],
    [/^Field "\w+" argument "(\w+)"/, (m) => m[1]!],
    [/^Unknown argument "(\w+)"/, (m) => m[1]!],
    [/^Field "\w+\.(\w+)" of required type/, (m) => m[1]!],
    [/^Field "(\w+)" is not defined by type "\w+Input"/, (m) => m[1]!],
  ];
  for (const [re, pick] of patterns) {
    const m = re.exec(message);
    if (m) return [{ field: pick(m), message }];
  }
  return [];
}

function classify(formatted: GraphQLFormattedError, error: unknown): "app" | "unavailable" | "request" | "internal" {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) return "app";
  if (isDatabaseUnavailable(original)) return "unavailable";
  const code = formatted.extensions?.["code"];
  if (!formatted.path && typeof code === "string" && REQUEST_ERROR_CODES.has(code)) return "request";
  return "internal";
}

/**
 * The one error layer (API.md §3). AppErrors pass through with a timestamp; request errors become
 * BAD_USER_INPUT with the fields graphql-js named; an unreachable database is SERVICE_UNAVAILABLE;
 * anything else is INTERNAL_SERVER_ERROR with a generic message (the logging plugin has logged it).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, options: FormatOptions = {}): GraphQLFormattedError {
  const timestamp = new Date().toISOString();
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  switch (classify(formatted, error)) {
    case "app": {
      const original = unwrapResolverError(error) as AppError;
      return { message: original.message, ...where, extensions: { ...original.extensions, timestamp } };
    }
    case "unavailable":
      return {
        message: "The service is temporarily unavailable; retry later",
        ...where,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, timestamp },
      };
    case "request": {
      const message = options.hideSuggestions ? withoutSuggestions(formatted.message) : formatted.message;
      return {
        message,
        ...where,
        extensions: {
          code: ErrorCode.BAD_USER_INPUT,
          reason: formatted.extensions?.["code"],
          fields: fieldsFromRequestError(message),
          timestamp,
        },
      };
    }
    case "internal":
      return {
        message: "Internal server error",
        ...where,
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, timestamp },
      };
  }
}

/**
 * A request error's message without graphql-js's suggestions. It suggests names in more messages
 * (variable values, enum values, input fields) than Apollo's hideSchemaDetailsFromClientErrors
 * cleans, always as " Did you mean …?" at the end of a sentence; in production none of them may map
 * the schema, and no placeholder is left behind ("[Suggestion hidden]?" was graphql-armor's, now off).
 */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean [^?]*\?/g, "").replace(/ ?\[Suggestion hidden\]\??/g, "").trim();
}

export interface FormatOptions {
  /** Strip "Did you mean …?" from request errors (production). */
  hideSuggestions?: boolean;
}


/** Logs each unexpected error once, with the request id that the client can quote. */
export function errorLoggingPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const formatted = { message: error.message, extensions: error.extensions, ...(error.path ? { path: error.path } : {}) };
            const kind = classify(formatted, error);
            if (kind === "app" || kind === "request") continue;
            const log = contextValue.deps.logger;
            const entry = {
              requestId: contextValue.meta.requestId,
              operationName: loggedOperationName(operationName),
              path: error.path,
              err: safeError(unwrapResolverError(error)),
            };
            if (kind === "unavailable") log.warn(entry, "database unavailable");
            else log.error(entry, "unexpected error");
          }
        },
      };
    },
  };
}
