import { expect } from "vitest";
import type { AuthTokens } from "./flows.js";
import type { GqlResponse, TestServer } from "./server.js";

/* The operations, shapes and helpers the refresh / logout / mySessions / revokeSession tests share. */

export const ME = /* GraphQL */ `
  query Me {
    me { id email }
  }
`;

export const REFRESH = /* GraphQL */ `
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken tokenType expiresIn user { id email } }
  }
`;

export const LOGOUT = /* GraphQL */ `
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`;

export const LOGOUT_ALL = /* GraphQL */ `
  mutation LogoutAll {
    logoutAll
  }
`;

export const MY_SESSIONS = /* GraphQL */ `
  query MySessions {
    mySessions { id createdAt lastUsedAt expiresAt ip userAgent current }
  }
`;

export const REVOKE_SESSION = /* GraphQL */ `
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`;

export interface MeData {
  me: { id: string; email: string };
}

export interface RefreshData {
  refreshToken: AuthTokens & { tokenType: string; expiresIn: number; user: { id: string; email: string } };
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export interface MySessionsData {
  mySessions: SessionView[];
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The session id (`sid` claim) an access token carries. */
export function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split(".")[1];
  if (!payload) throw new Error(`not a JWT: ${accessToken}`);
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sid?: unknown };
  if (typeof claims.sid !== "string") throw new Error("access token has no sid claim");
  return claims.sid;
}

/** The calls the session tests make, bound to the file's server (read when called: it starts in beforeAll). */
export function sessionCalls(server: () => TestServer) {
  const me = (token: string): Promise<GqlResponse<MeData>> => server().gql<MeData>(ME, {}, { token });
  return {
    me,
    refresh: (refreshToken: string): Promise<GqlResponse<RefreshData>> => server().gql<RefreshData>(REFRESH, { refreshToken }),
    async expectMeWorks(token: string, userId: string): Promise<void> {
      const res = await me(token);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.me.id).toBe(userId);
    },
  };
}
