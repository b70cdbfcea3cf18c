import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "./context.js";
import { codeLabel, loggedOperationName, operationLabel } from "./operation-label.js";

/**
 * One log line and one latency observation per GraphQL request: request id, operation, user,
 * outcome (OK or the first error code) and duration. Variables are never logged. The metric is
 * labelled by root field (a fixed set), the log line by the client's operation name cut to 100
 * characters: neither grows with what a client chooses to send.
 */
export function requestLogPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ response, operationName, errors, schema, document, operation: definition }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const body = response.body.kind === "single" ? response.body.singleResult : undefined;
          const codes = (body?.errors ?? errors ?? []).map((e) => codeLabel(e.extensions?.["code"] ?? "INTERNAL_SERVER_ERROR"));
          const outcome = codes[0] ?? "OK";
          const field = operationLabel(schema, document, definition);
          const { deps, meta, state } = contextValue;
          deps.metrics.requestDuration.observe({ operation: field, outcome }, seconds);
          for (const code of codes) deps.metrics.errors.inc({ code });
          deps.logger.info(
            {
              requestId: meta.requestId,
              operation: loggedOperationName(operationName),
              field,
              userId: state.userId ?? null,
              outcome,
              durationMs: Math.round(seconds * 1000),
            },
            "graphql request",
          );
        },
      };
    },
  };
}
