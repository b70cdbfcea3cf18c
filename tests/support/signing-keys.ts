import { sql } from "drizzle-orm";
import { onlyError } from "./flows.js";
import type { GqlResponse, TestServer } from "./server.js";

/* Helpers of the signing-keys tests (API.md §9). */

export const ME = "{ me { id email } }";

/** GET a /.well-known document: status, headers and JSON body. */
export async function wellKnown(t: TestServer, name: "jwks.json" | "openid-configuration") {
  const res = await fetch(`${t.url}/.well-known/${name}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** The kids the server's JWKS publishes right now, as a remote verifier fetches them. */
export async function publishedKids(t: TestServer): Promise<string[]> {
  const { body } = await wellKnown(t, "jwks.json");
  return (body["keys"] as Array<{ kid: string }>).map((k) => k.kid).sort();
}

/** The reason of a single UNAUTHENTICATED answer, or "accepted" when `me` answered. */
export async function meOutcome(t: TestServer, token: string): Promise<string> {
  const res: GqlResponse = await t.gql(ME, undefined, { token });
  if (!res.body.errors && res.body.data?.["me"]) return "accepted";
  const error = onlyError(res);
  return `${error.extensions.code}:${String(error.extensions["reason"])}`;
}

/** A mutable clock shared by instances (deps.now), starting at the real time. */
export function createKeyClock() {
  let ms = Date.now();
  return {
    now: () => ms,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

/** Moves every signing key's timestamps back by `seconds` (as if they had been made that long ago). */
export async function ageSigningKeys(t: TestServer, seconds: number): Promise<void> {
  const shift = sql.raw(`interval '${Math.trunc(seconds)} seconds'`);
  await t.deps.db.execute(
    sql`update signing_keys set created_at = created_at - ${shift}, signs_from = signs_from - ${shift},
        retired_at = retired_at - ${shift}, published_until = published_until - ${shift}`,
  );
}
