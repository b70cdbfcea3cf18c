import { expect } from "vitest";
import { activeAdminIds, LOGIN, type AuthTokens } from "./flows.js";
import type { GqlResponse, TestServer } from "./server.js";

/* The operations, shapes and helpers the me / updateMe / changePassword / deactivateMe tests share. */

export const ME = /* GraphQL */ `
  query Me {
    me {
      id email fullName role isActive emailVerified pendingEmail createdAt updatedAt lastLoginAt deletedAt
      stats { loginCount lastLoginAt failedLoginsSinceLastLogin activeSessions passwordChangedAt accountAgeDays }
    }
  }
`;

export const UPDATE_ME = /* GraphQL */ `
  mutation UpdateMe($input: UpdateMeInput!) {
    updateMe(input: $input) { id fullName role updatedAt }
  }
`;

export const CHANGE_PASSWORD = /* GraphQL */ `
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) { accessToken refreshToken tokenType expiresIn user { id email } }
  }
`;

export const REFRESH = /* GraphQL */ `
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
  }
`;

export const DEACTIVATE_ME = /* GraphQL */ `
  mutation DeactivateMe($confirm: Boolean!) {
    deactivateMe(confirm: $confirm)
  }
`;

export interface UserActivityView {
  loginCount: number;
  lastLoginAt: string | null;
  failedLoginsSinceLastLogin: number;
  activeSessions: number;
  passwordChangedAt: string | null;
  accountAgeDays: number;
}

export interface MeView {
  id: string;
  email: string;
  fullName: string;
  role: "USER" | "ADMIN";
  isActive: boolean;
  emailVerified: boolean;
  pendingEmail: string | null;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  deletedAt: string | null;
  stats: UserActivityView;
}

export interface UpdateMeData {
  updateMe: { id: string; fullName: string; role: "USER" | "ADMIN"; updatedAt: string };
}

export interface ChangePasswordData {
  changePassword: AuthTokens & { tokenType: string; expiresIn: number; user: { id: string; email: string } };
}

export interface FieldError {
  field: string;
  message: string;
}

/** The calls the profile tests make, bound to the file's server (read when called: it starts in beforeAll). */
export function profileCalls(server: () => TestServer) {
  const me = (token: string): Promise<GqlResponse<{ me: MeView }>> => server().gql<{ me: MeView }>(ME, {}, { token });
  return {
    me,
    async meOf(token: string): Promise<MeView> {
      const res = await me(token);
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.me;
    },
    tryLogIn: (email: string, password: string): Promise<GqlResponse<{ login: AuthTokens }>> =>
      server().gql<{ login: AuthTokens }>(LOGIN, { input: { email, password } }),
    activeAdminIds: (): Promise<string[]> => activeAdminIds(server()),
    deactivateMe: (token: string, confirm: boolean): Promise<GqlResponse<{ deactivateMe: boolean }>> =>
      server().gql<{ deactivateMe: boolean }>(DEACTIVATE_ME, { confirm }, { token }),
  };
}
