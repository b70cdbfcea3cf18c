import { recordAudit } from "../../audit/audit.service.js";
import type { Deps, ExternalProfile, RequestMeta } from "../../deps.js";
import { AppError, badInput } from "../../errors.js";
import { parseInput } from "../../lib/validation.js";
import { z } from "zod";
import type { IssuedTokens } from "../auth.service.js";
import { consumeFlow, createFlow, sameState, type FlowPurpose } from "./oauth-flows.js";
import { linkIdentityToUser, signInWithIdentity } from "./oauth-accounts.js";
import type { UserIdentityRow } from "../../db/schema.js";

/* The social-login flows of API.md §8: start (an authorization URL) and complete (the callback URL). */

type OAuthDeps = Pick<Deps, "db" | "config" | "oauth" | "logger" | "tokens" | "metrics">;

export interface OAuthStartResult {
  flowId: string;
  authorizationUrl: string;
}

const providerSchema = z.object({ provider: z.string().trim().toLowerCase().min(1, "Name a provider").max(64, "No such provider") });
const completeSchema = z.object({
  flowId: z.uuid({ message: "This sign-in flow is unknown, expired or already used: start again" }),
  callbackUrl: z.string().min(1, "Pass the URL the provider redirected to").max(8192, "Not a callback URL"),
});

const flowGone = () => badInput([{ field: "flowId", message: "This sign-in flow is unknown, expired or already used: start again" }]);
const badCallback = (message: string) => badInput([{ field: "callbackUrl", message }]);

/** Starts a flow for a provider of oauthProviders; BAD_USER_INPUT on `provider` for any other name. */
export async function startOAuth(
  deps: Pick<Deps, "db" | "config" | "oauth">,
  input: { provider: string },
  purpose: FlowPurpose,
  userId: string | null,
): Promise<OAuthStartResult> {
  const { provider: name } = parseInput(providerSchema, input);
  const provider = await deps.oauth.get(name);
  if (!provider) throw badInput([{ field: "provider", message: "No such provider, or it is unavailable right now (see oauthProviders)" }]);
  const flow = await createFlow(deps.db, deps.config, { provider: name, purpose, userId });
  return { flowId: flow.id, authorizationUrl: provider.authorizationUrl({ ...flow.checks, codeChallenge: flow.codeChallenge }) };
}

/**
 * Spends the flow, checks the callback against it and lets the provider verify its answer. Every
 * failure is BAD_USER_INPUT on flowId or callbackUrl; the reason is logged, never the tokens.
 */
async function finishFlow(
  deps: OAuthDeps,
  input: { flowId: string; callbackUrl: string },
  purpose: FlowPurpose,
  userId: string | null,
  meta: RequestMeta,
): Promise<{ provider: string; profile: ExternalProfile }> {
  const { flowId, callbackUrl } = parseInput(completeSchema, input);
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    throw badCallback("Not a URL");
  }
  // The token request's redirect_uri is taken from this URL: it must be ours, so a planted URL cannot choose it.
  const expected = new URL(deps.config.oauth.redirectUri);
  if (url.origin !== expected.origin || url.pathname !== expected.pathname) throw badCallback("This is not the URL the provider redirected to");
  const flow = await consumeFlow(deps.db, deps.config, flowId, purpose, userId);
  if (!flow) {
    await refuse(deps, userId, meta, { reason: "flow_unknown" });
    throw flowGone();
  }
  const providerError = url.searchParams.get("error");
  if (providerError !== null) {
    const code = /^[a-z_]{1,64}$/.test(providerError) ? providerError : "error";
    await refuse(deps, userId, meta, { reason: "provider_error", provider: flow.provider, error: code });
    throw badCallback(code === "access_denied" ? "Sign-in was cancelled at the provider" : `The provider refused the sign-in (${code})`);
  }
  // The flow of this browser must be the flow of this callback: a URL from another flow, or planted, stops here.
  if (!sameState(url.searchParams.get("state"), flow.checks.state)) {
    await refuse(deps, userId, meta, { reason: "state_mismatch", provider: flow.provider });
    throw badCallback("This callback does not belong to this sign-in flow");
  }
  const provider = await deps.oauth.get(flow.provider);
  if (!provider) {
    await refuse(deps, userId, meta, { reason: "provider_unavailable", provider: flow.provider });
    throw badInput([{ field: "flowId", message: "The provider is unavailable right now: start again later" }]);
  }
  try {
    return { provider: flow.provider, profile: await provider.complete(url, flow.checks) };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string; cause?: { claim?: unknown; message?: unknown; cause?: { claim?: unknown } } };
    // Name, code, messages and the claim at fault only: a cause can hold the provider's response body (tokens).
    const claim = [e.cause?.claim, e.cause?.cause?.claim].find((c) => typeof c === "string");
    const detail = e.cause instanceof Error ? e.cause.message : undefined;
    deps.logger.warn(
      {
        provider: flow.provider,
        requestId: meta.requestId,
        err: { name: e.name, code: e.code, message: e.message, ...(detail ? { detail } : {}), ...(claim ? { claim } : {}) },
      },
      "oauth callback refused",
    );
    await refuse(deps, userId, meta, { reason: "callback_rejected", provider: flow.provider, error: e.code ?? e.name ?? "error" });
    throw badCallback("The provider's answer could not be verified: start again");
  }
}

/** A refusal, audited on its own (the change it refused, if any, has rolled back). */
export async function refuse(deps: Pick<Deps, "db">, userId: string | null, meta: RequestMeta, details: Record<string, unknown>): Promise<void> {
  await recordAudit(deps.db, { action: "user.oauth_refused", actorId: userId, targetId: userId, ip: meta.ip, details });
}

/**
 * completeOAuthLogin: the identity's account, a new verified USER, or an automatic link when both
 * sides' emails are verified; CONFLICT (reason LINK_REQUIRED) when an account has the email otherwise.
 * A TOTP account gets a pending session (mfaRequired).
 */
export async function completeOAuthLogin(
  deps: OAuthDeps,
  input: { flowId: string; callbackUrl: string },
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const { provider, profile } = await finishFlow(deps, input, "LOGIN", null, meta);
  try {
    const issued = await signInWithIdentity(deps, provider, profile, meta);
    deps.metrics.logins.inc({ result: "success" });
    return issued;
  } catch (err) {
    deps.metrics.logins.inc({ result: "failure" });
    if (err instanceof AppError) {
      const reason = String(err.extensions["reason"] ?? err.code);
      await refuse(deps, null, meta, { reason, provider, issuer: profile.issuer, subject: profile.subject });
    }
    throw err;
  }
}

/** completeOAuthLink: the identity joins the caller's account (CONFLICT when another account has it). */
export async function completeOAuthLink(
  deps: OAuthDeps,
  userId: string,
  input: { flowId: string; callbackUrl: string },
  meta: RequestMeta,
): Promise<UserIdentityRow> {
  const { provider, profile } = await finishFlow(deps, input, "LINK", userId, meta);
  try {
    return await linkIdentityToUser(deps, userId, provider, profile, meta);
  } catch (err) {
    if (err instanceof AppError) await refuse(deps, userId, meta, { reason: err.code, provider, issuer: profile.issuer, subject: profile.subject });
    throw err;
  }
}
