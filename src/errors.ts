import { GraphQLError } from "graphql";

/** The error codes of API.md §3. Clients branch on these, never on messages. */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  // Apollo Server's own codes for a request refused before any resolver ran (API.md §6). They pass
  // through unchanged: Apollo Client, its persisted-query link and Apollo's tooling branch on them.
  /** The document is not GraphQL (a syntax error, or over the token limit). */
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  /** The document does not fit the schema (unknown field, wrong variable type) or the operation limits. */
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  /** The HTTP request is not a GraphQL request: bad JSON, too large, no query, CSRF guard, batching, mutation over GET. */
  BAD_REQUEST: "BAD_REQUEST",
  /** `operationName` names no operation of the document, or a document of several operations has none. */
  OPERATION_RESOLUTION_FAILURE: "OPERATION_RESOLUTION_FAILURE",
  /** Automatic persisted queries: the hash is unknown, so the client sends the query text once more. */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  PERSISTED_QUERY_NOT_SUPPORTED: "PERSISTED_QUERY_NOT_SUPPORTED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Why an UNAUTHENTICATED was answered (`extensions.reason`, API.md §6), so a client can act on it
 * without reading messages: refresh on TOKEN_EXPIRED only; log in again on the others.
 */
export const UnauthenticatedReason = {
  /** No Authorization header. */
  NO_TOKEN: "NO_TOKEN",
  /** A malformed header or token, a bad signature, a wrong algorithm, issuer, audience or claims; an unknown refresh token. */
  INVALID_TOKEN: "INVALID_TOKEN",
  /** A genuine access token past its `exp` (the signature verified): refresh and retry. */
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  /** The session was revoked (logout, password change, refresh-token reuse…), expired, or is not the token's user's. */
  SESSION_REVOKED: "SESSION_REVOKED",
  /** The user is deactivated or deleted. */
  ACCOUNT_INACTIVE: "ACCOUNT_INACTIVE",
  /** login: unknown email or wrong password (one answer for both). */
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
} as const;
export type UnauthenticatedReason = (typeof UnauthenticatedReason)[keyof typeof UnauthenticatedReason];

export interface FieldError {
  field: string;
  message: string;
}

/**
 * An expected failure. Resolvers and services throw it; formatError passes it through
 * unchanged (plus a timestamp). Anything else is masked as INTERNAL_SERVER_ERROR.
 */
export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: { fields?: FieldError[]; [key: string]: unknown } = {},
  ) {
    super(message, { extensions: { code, ...extra } });
    this.name = "AppError";
  }
}

/** BAD_USER_INPUT naming each bad field. */
export function badInput(fields: FieldError[], message = "Invalid input"): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, message, { fields });
}

const UNAUTHENTICATED_MESSAGES: Record<UnauthenticatedReason, string> = {
  NO_TOKEN: "Authentication required: send Authorization: Bearer <accessToken>",
  INVALID_TOKEN: "Invalid access token",
  TOKEN_EXPIRED: "Access token expired",
  SESSION_REVOKED: "Session is no longer valid; log in again",
  ACCOUNT_INACTIVE: "This account is no longer active",
  INVALID_CREDENTIALS: "Invalid email or password",
};

/** UNAUTHENTICATED with its `extensions.reason`: there is no UNAUTHENTICATED without one. */
export const unauthenticated = (reason: UnauthenticatedReason, message = UNAUTHENTICATED_MESSAGES[reason]) =>
  new AppError(ErrorCode.UNAUTHENTICATED, message, { reason });

export const forbidden = (message = "You are not allowed to do this") => new AppError(ErrorCode.FORBIDDEN, message);

export const notFound = (message = "Not found") => new AppError(ErrorCode.NOT_FOUND, message);

export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
