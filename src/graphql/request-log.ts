import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "./context.js";

/**
 * One log line and one latency observation per GraphQL request: request id, operation, user,
 * outcome (OK or the first error code) and duration. Variables are never logged.
 */
export function requestLogPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ response, operationName, errors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const body = response.body.kind === "single" ? response.body.singleResult : undefined;
          const codes = (body?.errors ?? errors ?? []).map((e) => String(e.extensions?.["code"] ?? "INTERNAL_SERVER_ERROR"));
          const outcome = codes[0] ?? "OK";
          const operation = operationName ?? "anonymous";
          const { deps, meta, state } = contextValue;
          deps.metrics.requestDuration.observe({ operation, outcome }, seconds);
          for (const code of codes) deps.metrics.errors.inc({ code });
          deps.logger.info(
            { requestId: meta.requestId, operation, userId: state.userId ?? null, outcome, durationMs: Math.round(seconds * 1000) },
            "graphql request",
          );
        },
      };
    },
  };
}
