import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

/** What Gatehouse puts in every error: `reason` on UNAUTHENTICATED (refresh on TOKEN_EXPIRED), `fields` on BAD_USER_INPUT. */
export interface GatehouseError {
  message: string;
  extensions: { code: string; reason?: string; fields?: Array<{ field: string; message: string }>; [key: string]: unknown };
}

export class GatehouseRequestError extends Error {
  constructor(readonly errors: GatehouseError[]) {
    super(errors.map((e) => `${e.extensions.code}: ${e.message}`).join("; "));
  }
}

/**
 * A minimal typed client: the result and variables types come from the generated document, so a
 * schema change that breaks an operation fails `npm run typecheck`, not production.
 */
export function createClient(baseUrl: string) {
  let accessToken: string | undefined;
  return {
    setAccessToken(token: string | undefined) {
      accessToken = token;
    },
    async request<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables?: TVariables): Promise<TResult> {
      const res = await fetch(`${baseUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await res.json()) as { data?: TResult | null; errors?: GatehouseError[] };
      if (body.errors?.length) throw new GatehouseRequestError(body.errors);
      return body.data as TResult;
    },
  };
}
