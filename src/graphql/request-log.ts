import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse, GraphQLRequestListener } from "@apollo/server";
import type { OperationDefinitionNode } from "graphql";
import type { Logger } from "pino";
import type { Deps } from "../deps.js";
import type { Context } from "./context.js";
import { logUnexpectedErrors, noteArgumentValueErrors } from "./errors.js";
import { codeLabel, loggedOperationName, operationLabel } from "./operation-label.js";

/**
 * The one plugin that runs per request (each plugin's hooks cost Apollo a promise per stage): the
 * request log line and latency metric, the unexpected-error log (graphql/errors.ts) and the notes on
 * argument-value errors that formatError reads (graphql/errors.ts).
 *
 * One log line and one latency observation per GraphQL request: request id, operation, user,
 * outcome (OK or the first error code) and duration. Variables are never logged. The metric is
 * labelled by root field (a fixed set), the log line by the client's operation name cut to 100
 * characters: neither grows with what a client chooses to send.
 */
export function requestPlugin(deps: Pick<Deps, "logger" | "metrics">): ApolloServerPlugin<Context> {
  // The line's keys are fixed and none is a redacted path (lib/logger.ts), so redaction could only
  // walk it for nothing: this child writes to the same destination without it.
  const log = deps.logger.child({}, { redact: [] });
  const hooks: RequestHooks = { log, metrics: deps.metrics };
  return {
    async requestDidStart() {
      return new RequestListener(hooks);
    },
  };
}

interface RequestHooks {
  readonly log: Logger;
  readonly metrics: Deps["metrics"];
}

/** A document's operations are cached by Apollo and reused: their label is computed once. */
const labels = new WeakMap<OperationDefinitionNode, string>();

class RequestListener implements GraphQLRequestListener<Context> {
  private readonly started = performance.now();
  constructor(private readonly hooks: RequestHooks) {}

  readonly validationDidStart = noteArgumentValueErrors;
  readonly didEncounterErrors = logUnexpectedErrors;

  async willSendResponse(context: GraphQLRequestContextWillSendResponse<Context>): Promise<void> {
    const seconds = (performance.now() - this.started) / 1000;
    const { response, operationName, errors, schema, document, operation: definition, contextValue } = context;
    const body = response.body.kind === "single" ? response.body.singleResult : undefined;
    const reported = body?.errors ?? errors;
    let field = definition ? labels.get(definition) : undefined;
    if (field === undefined) {
      field = operationLabel(schema, document, definition);
      if (definition) labels.set(definition, field);
    }
    const { log, metrics } = this.hooks;
    let outcome: string | undefined;
    if (reported) {
      for (const e of reported) {
        const code = codeLabel(e.extensions?.["code"] ?? "INTERNAL_SERVER_ERROR");
        outcome ??= code;
        metrics.errors.inc({ code });
      }
    }
    outcome ??= "OK";
    metrics.requestDuration.observe({ operation: field, outcome }, seconds);
    log.info(
      {
        requestId: contextValue.meta.requestId,
        operation: loggedOperationName(operationName),
        field,
        userId: contextValue.state.userId ?? null,
        outcome,
        durationMs: Math.round(seconds * 1000),
      },
      "graphql request",
    );
  }
}
