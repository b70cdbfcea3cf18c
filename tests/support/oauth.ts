import type { GqlResponse, TestServer } from "./server.js";

/* The social-login operations, as a frontend sends them. */

export const PROVIDERS = /* GraphQL */ `query { oauthProviders }`;
export const START_LOGIN = /* GraphQL */ `mutation Start($p: String!) { startOAuthLogin(provider: $p) { authorizationUrl flowId } }`;
export const COMPLETE_LOGIN = /* GraphQL */ `
  mutation Complete($f: ID!, $u: String!) {
    completeOAuthLogin(flowId: $f, callbackUrl: $u) { accessToken refreshToken mfaRequired user { id email emailVerified } }
  }
`;
export const START_LINK = /* GraphQL */ `mutation StartLink($p: String!) { startOAuthLink(provider: $p) { authorizationUrl flowId } }`;
export const COMPLETE_LINK = /* GraphQL */ `
  mutation CompleteLink($f: ID!, $u: String!) { completeOAuthLink(flowId: $f, callbackUrl: $u) { id provider subject email createdAt } }
`;
export const MY_IDENTITIES = /* GraphQL */ `query { myIdentities { id provider subject email } }`;
export const UNLINK = /* GraphQL */ `mutation Unlink($id: ID!) { unlinkIdentity(id: $id) }`;

export interface OAuthStartView {
  authorizationUrl: string;
  flowId: string;
}

export interface CompletedLogin {
  accessToken: string;
  refreshToken: string;
  mfaRequired: boolean;
  user: { id: string; email: string; emailVerified: boolean };
}

export async function startLogin(t: TestServer, provider = "local"): Promise<OAuthStartView> {
  const res = await t.gql<{ startOAuthLogin: OAuthStartView }>(START_LOGIN, { p: provider });
  if (!res.body.data?.startOAuthLogin) throw new Error(`startOAuthLogin failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.startOAuthLogin;
}

export const completeLogin = (t: TestServer, flowId: string, callbackUrl: string): Promise<GqlResponse<{ completeOAuthLogin: CompletedLogin }>> =>
  t.gql(COMPLETE_LOGIN, { f: flowId, u: callbackUrl });

/** One whole social login: start, the provider's pages, complete. */
export async function socialLogin(
  t: TestServer,
  authorize: (url: string) => Promise<string>,
  provider = "local",
): Promise<GqlResponse<{ completeOAuthLogin: CompletedLogin }>> {
  const start = await startLogin(t, provider);
  return completeLogin(t, start.flowId, await authorize(start.authorizationUrl));
}

export function fieldErrorOf(res: GqlResponse<object>): { code: string; reason?: unknown; fields?: Array<{ field: string }> } {
  const ext = res.body.errors?.[0]?.extensions;
  if (!ext) throw new Error(`expected an error, got ${JSON.stringify(res.body)}`);
  return ext as { code: string; reason?: unknown; fields?: Array<{ field: string }> };
}
