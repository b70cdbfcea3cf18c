import { randomUUID, timingSafeEqual } from "node:crypto";
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import * as client from "openid-client";
import type { Config } from "../../config.js";
import type { Queryable } from "../../db/client.js";
import { oauthFlows, type OAuthFlowRow } from "../../db/schema.js";
import type { FlowChecks } from "../../deps.js";
import { open, seal, sealingKeyFor } from "../../lib/sealed.js";

/* Flow state kept in the database, so any instance finishes a flow any instance started (API.md §8). */

/** A flow lapses after 10 minutes. */
export const FLOW_TTL_SECONDS = 600;

export type FlowPurpose = OAuthFlowRow["purpose"];

/** The verifier's key: HKDF from ENCRYPTION_SECRET under a label of its own (not the TOTP one). */
const flowKey = sealingKeyFor("gatehouse oauth pkce verifier v1");

// Bound to the flow id: a sealed verifier copied into another flow's row does not open.
const aad = (flowId: string) => `oauth_flows:${flowId}`;

export interface StartedFlow {
  id: string;
  checks: FlowChecks;
  codeChallenge: string;
}

/**
 * Stores a new flow: fresh random state, nonce and PKCE verifier (sealed at rest). Flows that lapsed
 * over a day ago are swept on the way, so the table stays small without a timer.
 */
export async function createFlow(
  db: Queryable,
  config: Pick<Config, "encryptionSecret">,
  flow: { provider: string; purpose: FlowPurpose; userId: string | null },
): Promise<StartedFlow> {
  const id = randomUUID();
  const checks: FlowChecks = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
  await db.delete(oauthFlows).where(lt(oauthFlows.expiresAt, sql`now() - interval '1 day'`));
  await db.insert(oauthFlows).values({
    id,
    provider: flow.provider,
    purpose: flow.purpose,
    userId: flow.userId,
    state: checks.state,
    nonce: checks.nonce,
    codeVerifierSealed: seal(flowKey(config), checks.codeVerifier, aad(id)),
    // The database's clock, which every instance shares.
    expiresAt: sql`now() + make_interval(secs => ${FLOW_TTL_SECONDS})`,
  });
  return { id, checks, codeChallenge: await client.calculatePKCECodeChallenge(checks.codeVerifier) };
}

/**
 * Spends a flow: one compare-and-set, so of two completions (a replay, two instances) exactly one gets
 * the row. Only a live, unused flow of this purpose (and, for LINK, of this user) is taken; anything
 * else is null and stays as it was. Returns the provider name and the flow's checks.
 */
export async function consumeFlow(
  db: Queryable,
  config: Pick<Config, "encryptionSecret">,
  flowId: string,
  purpose: FlowPurpose,
  userId: string | null,
): Promise<{ provider: string; checks: FlowChecks } | null> {
  const [row] = await db
    .update(oauthFlows)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(oauthFlows.id, flowId),
        isNull(oauthFlows.usedAt),
        gt(oauthFlows.expiresAt, sql`now()`),
        eq(oauthFlows.purpose, purpose),
        userId === null ? isNull(oauthFlows.userId) : eq(oauthFlows.userId, userId),
      ),
    )
    .returning();
  if (!row) return null;
  return {
    provider: row.provider,
    checks: { state: row.state, nonce: row.nonce, codeVerifier: open(flowKey(config), row.codeVerifierSealed, aad(row.id)) },
  };
}

/** Constant-time comparison of the callback's state with the flow's. */
export function sameState(a: string | null, b: string): boolean {
  if (a === null) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
