import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { UserIdentityRow } from "../../db/schema.js";
import { Auth, Public } from "../../graphql/access.js";
import type { Context } from "../../graphql/context.js";
import { RateLimit } from "../../graphql/rate-limit.js";
import { deliverTokens } from "../../graphql/token-transport.js";
import { parseId } from "../../lib/validation.js";
import { AuthPayload } from "../auth.types.js";
import { listIdentities, unlinkIdentity } from "./oauth-accounts.js";
import { completeOAuthLink, completeOAuthLogin, startOAuth } from "./oauth.service.js";
import { Identity, OAuthStart } from "./oauth.types.js";

const toIdentityView = (row: UserIdentityRow): Identity => ({
  id: row.id,
  provider: row.provider,
  subject: row.subject,
  email: row.email,
  createdAt: row.createdAt,
});

const FLOW_ID = { description: "The OAuthStart.flowId this browser got from the start mutation." };
const CALLBACK_URL = { description: "The full URL the provider redirected the browser to (window.location.href on the callback page)." };

// None of these fields carries @AllowPendingMfa: a session waiting for its second factor does not need them.
@Resolver()
export class OAuthResolver {
  @Public()
  @Query(() => [String], {
    description: 'The social-login providers that work now (configured, and their discovery succeeded), e.g. ["google", "github"].',
  })
  oauthProviders(@Ctx() ctx: Context): string[] {
    return ctx.deps.oauth.available();
  }

  @Auth()
  @Query(() => [Identity], { description: "The provider accounts linked to the caller, oldest first." })
  async myIdentities(@Ctx() ctx: Context): Promise<Identity[]> {
    const { user } = await ctx.viewer();
    return (await listIdentities(ctx.deps.db, user.id)).map(toIdentityView);
  }

  @Public()
  @RateLimit({ limit: "oauthStart", per: ["ip"] })
  @Mutation(() => OAuthStart, {
    description:
      "Starts a social login: returns the provider's authorization URL and the flowId to keep for the callback. " +
      "BAD_USER_INPUT on provider for a name oauthProviders does not list; RATE_LIMITED over 30 per 15 minutes per client address by default.",
  })
  startOAuthLogin(@Arg("provider", () => String, { description: "A name from oauthProviders." }) provider: string, @Ctx() ctx: Context): Promise<OAuthStart> {
    return startOAuth(ctx.deps, { provider }, "LOGIN", null);
  }

  @Public()
  @RateLimit({ limit: "oauthComplete", per: ["ip"] })
  @Mutation(() => AuthPayload, {
    description:
      "Finishes a social login from the provider's redirect and opens a session, like login (the cookie transport applies). " +
      "A new identity with a verified email makes a verified USER; an account with that email is linked only when both the provider " +
      "and the account say the email is verified, else CONFLICT with reason LINK_REQUIRED (sign in and use startOAuthLink). A TOTP " +
      "account gets mfaRequired. Every failure of the flow (unknown, used or expired flow, another flow's or a planted callback, " +
      "a provider error, an answer that does not verify) is BAD_USER_INPUT on flowId or callbackUrl; UNAUTHENTICATED " +
      "(ACCOUNT_INACTIVE) for a deactivated account; RATE_LIMITED over 30 per 15 minutes per client address by default.",
  })
  async completeOAuthLogin(
    @Arg("flowId", () => ID, FLOW_ID) flowId: string,
    @Arg("callbackUrl", () => String, CALLBACK_URL) callbackUrl: string,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    return deliverTokens(ctx, await completeOAuthLogin(ctx.deps, { flowId, callbackUrl }, ctx.meta));
  }

  @Auth()
  @RateLimit({ limit: "oauthStart", per: ["ip"] })
  @Mutation(() => OAuthStart, {
    description:
      "Starts linking a provider account to the caller's account; finish with completeOAuthLink. BAD_USER_INPUT on provider for a " +
      "name oauthProviders does not list; RATE_LIMITED as startOAuthLogin.",
  })
  async startOAuthLink(
    @Arg("provider", () => String, { description: "A name from oauthProviders." }) provider: string,
    @Ctx() ctx: Context,
  ): Promise<OAuthStart> {
    const { user } = await ctx.viewer();
    return startOAuth(ctx.deps, { provider }, "LINK", user.id);
  }

  @Auth()
  @RateLimit({ limit: "oauthComplete", per: ["ip"] })
  @Mutation(() => Identity, {
    description:
      "Finishes linking: the provider account becomes one of the caller's identities (whatever the emails say: the caller proved both). " +
      "Only the user who started the flow can finish it. CONFLICT (reason IDENTITY_TAKEN) when another account has this identity; " +
      "every failure of the flow is BAD_USER_INPUT on flowId or callbackUrl, as for completeOAuthLogin.",
  })
  async completeOAuthLink(
    @Arg("flowId", () => ID, FLOW_ID) flowId: string,
    @Arg("callbackUrl", () => String, CALLBACK_URL) callbackUrl: string,
    @Ctx() ctx: Context,
  ): Promise<Identity> {
    const { user } = await ctx.viewer();
    return toIdentityView(await completeOAuthLink(ctx.deps, user.id, { flowId, callbackUrl }, ctx.meta));
  }

  @Auth()
  @Mutation(() => Boolean, {
    description:
      "Removes one of the caller's identities and returns true. FORBIDDEN when it is the account's last way to sign in (no password " +
      "and no other identity: set a password through requestPasswordReset first); NOT_FOUND for anyone else's.",
  })
  async unlinkIdentity(@Arg("id", () => ID, { description: "An Identity.id from myIdentities." }) id: string, @Ctx() ctx: Context): Promise<boolean> {
    const identityId = parseId(id);
    const { user } = await ctx.viewer();
    return unlinkIdentity(ctx.deps, user.id, identityId, ctx.meta);
  }
}
