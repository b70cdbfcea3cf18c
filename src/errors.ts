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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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

export const unauthenticated = (message = "Authentication required") =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);

export const forbidden = (message = "You are not allowed to do this") => new AppError(ErrorCode.FORBIDDEN, message);

export const notFound = (message = "Not found") => new AppError(ErrorCode.NOT_FOUND, message);

export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
