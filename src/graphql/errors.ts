import type { GraphQLRequestContextDidEncounterErrors, GraphQLRequestContextValidationDidStart } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import {
  GraphQLError,
  Kind,
  ProvidedRequiredArgumentsRule,
  ValuesOfCorrectTypeRule,
  validate,
  visit,
  type ASTNode,
  type DocumentNode,
  type GraphQLFormattedError,
} from "graphql";
import { isDatabaseUnavailable } from "../db/errors.js";
import { AppError, ErrorCode, type FieldError } from "../errors.js";
import { safeError } from "../lib/safe-error.js";
import type { Context } from "./context.js";
import { loggedOperationName } from "./operation-label.js";

/**
 * Errors that graphql-js and Apollo raise about the request itself, before any resolver runs. Each
 * keeps Apollo's code (API.md §6) but BAD_USER_INPUT, which gains `fields`.
 */
const REQUEST_ERROR_CODES = new Set<string>([
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.BAD_REQUEST,
  ErrorCode.OPERATION_RESOLUTION_FAILURE,
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
]);

/**
 * The graphql-js validation errors that are about an argument's value (a literal of the wrong type, an
 * unknown input field, a missing required argument or input field) rather than the document's shape.
 * Apollo reports them as GRAPHQL_VALIDATION_FAILED; we answer BAD_USER_INPUT, as for the same value
 * sent in a variable, so a client handles a bad value one way wherever it wrote it. Kept by the AST
 * node each is about (Apollo's ValidationError keeps the nodes, not always the error it wraps): the
 * message without suggestions, and the argument and input-field names down to the node.
 */
const argumentValueErrors = new WeakMap<ASTNode, Array<{ message: string; path: readonly string[] }>>();
const ARGUMENT_VALUE_RULES = [ValuesOfCorrectTypeRule, ProvidedRequiredArgumentsRule];

/** The argument and input-field names from the operation down to each of `targets`. */
function argumentPaths(document: DocumentNode, targets: ReadonlySet<ASTNode>): Map<ASTNode, string[]> {
  const paths = new Map<ASTNode, string[]>();
  const names: string[] = [];
  visit(document, {
    enter(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) names.push(node.name.value);
      if (targets.has(node)) paths.set(node, [...names]);
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) names.pop();
    },
  });
  return paths;
}

/**
 * Notes the argument-value errors of a failed validation, for formatError (an Apollo
 * validationDidStart hook, run by graphql/request-log.ts's requestPlugin). Apollo keeps no note of
 * which rule reported what, so the two rules run again over the same document (only when validation
 * failed: a valid document costs nothing more, and a cached one is not validated again).
 */
export async function noteArgumentValueErrors({
  schema,
  document,
}: GraphQLRequestContextValidationDidStart<Context>): Promise<(errors?: readonly Error[]) => Promise<void>> {
  // Apollo does not await this hook: everything below runs before the errors are formatted.
  return async (errors) => {
    if (!errors?.length) return;
    const own = validate(schema, document, ARGUMENT_VALUE_RULES).filter((e) => e.nodes?.[0]);
    if (own.length === 0) return;
    const paths = argumentPaths(document, new Set(own.map((e) => e.nodes![0]!)));
    for (const error of own) {
      const node = error.nodes![0]!;
      const noted = argumentValueErrors.get(node) ?? [];
      noted.push({ message: withoutSuggestions(error.message), path: paths.get(node) ?? [] });
      argumentValueErrors.set(node, noted);
    }
  };
}

/**
 * The field of an argument-value error, or null when `error` is not one. The AST path names the
 * argument and input fields down to the bad value; an error about something missing sits on the
 * node that lacks it (the field, directive or input object), and its message names what is missing.
 */
function argumentValueFields(error: unknown, message: string): FieldError[] | null {
  const node = error instanceof GraphQLError ? error.nodes?.[0] : undefined;
  // Compared without suggestions: Apollo's own plugin may have cut them from this error already.
  const noted = node && argumentValueErrors.get(node)?.find((e) => e.message === withoutSuggestions(message));
  if (!node || !noted) return null;
  const missing =
    node.kind === Kind.FIELD || node.kind === Kind.DIRECTIVE || node.kind === Kind.OBJECT ? (fieldsFromRequestError(message)[0]?.field ?? null) : null;
  const field = [...noted.path, ...(missing ? [missing] : [])].join(".");
  return field ? [{ field, message }] : [];
}

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
 * The one error layer (API.md §3). AppErrors pass through with a timestamp; request errors keep
 * Apollo's code (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST, …), except that a bad
 * argument value is BAD_USER_INPUT with the fields graphql-js named; an unreachable database is
 * SERVICE_UNAVAILABLE; anything else is INTERNAL_SERVER_ERROR with a generic message (the logging
 * plugin has logged it).
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
      const code = formatted.extensions?.["code"] as string;
      const fields = argumentValueFields(error, message) ?? (code === ErrorCode.BAD_USER_INPUT ? fieldsFromRequestError(message) : null);
      if (fields) return { message, ...where, extensions: { code: ErrorCode.BAD_USER_INPUT, fields, timestamp } };
      return { message, ...where, extensions: { code, timestamp } };
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

/**
 * Logs each unexpected error once, with the request id that the client can quote (an Apollo
 * didEncounterErrors hook, run by graphql/request-log.ts's requestPlugin).
 */
export async function logUnexpectedErrors({ errors, contextValue, operationName }: GraphQLRequestContextDidEncounterErrors<Context>): Promise<void> {
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
}
