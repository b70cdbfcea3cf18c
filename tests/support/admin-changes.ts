import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { users, type UserRow } from "../../src/db/schema.js";
import { activeAdminIds, onlyError, type AuthTokens } from "./flows.js";
import type { GqlResponse, TestServer } from "./server.js";

/* The operations, shapes and helpers the updateUser and bulkUsers tests share. */

export const UPDATE_USER = /* GraphQL */ `
  mutation UpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) { id email fullName role isActive emailVerified pendingEmail }
  }
`;
export const BULK = /* GraphQL */ `
  mutation Bulk($input: BulkUsersInput!) {
    bulkUsers(input: $input) { operation requested succeeded failed { id code message } dryRun bulkId }
  }
`;
export const ME_ROLE = /* GraphQL */ `query { me { id role } }`;
export const ADMIN_QUERY = /* GraphQL */ `query { userStats { total } }`;
export const REFRESH = /* GraphQL */ `mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`;
export const DEACTIVATE_ME = /* GraphQL */ `mutation { deactivateMe(confirm: true) }`;
export const USERS_BY_QUERY = /* GraphQL */ `
  query U($q: String!, $d: Boolean) { users(filter: { query: $q, includeDeleted: $d }) { total items { id deletedAt } } }
`;

export type Role = "USER" | "ADMIN";
export interface UserView { id: string; email: string; fullName: string; role: Role; isActive: boolean; emailVerified: boolean; pendingEmail: string | null }
export interface UpdateData { updateUser: UserView }
export interface BulkFailure { id: string; code: string; message: string }
export interface BulkResult { operation: string; requested: number; succeeded: string[]; failed: BulkFailure[]; dryRun: boolean; bulkId: string | null }
export interface BulkData { bulkUsers: BulkResult }
export interface BulkInput { userIds: string[]; operation: string; role?: Role; dryRun?: boolean }

export const codeOf = (res: GqlResponse<object>): string => onlyError(res).extensions.code;

/** Order-free view of a bulk result: sorted succeeded ids and sorted [id, code] failures. */
export const outcome = (r: BulkResult): { succeeded: string[]; failed: string[] } => ({
  succeeded: [...r.succeeded].sort(),
  failed: r.failed.map((f) => `${f.id}:${f.code}`).sort(),
});

/** The calls the admin-change tests make, bound to the file's server (read when called: it starts in beforeAll). */
export function adminChangeCalls(server: () => TestServer) {
  const update = (token: string | undefined, id: string, input: Record<string, unknown>): Promise<GqlResponse<UpdateData>> =>
    server().gql<UpdateData>(UPDATE_USER, { id, input }, token ? { token } : {});
  const bulk = (token: string, input: BulkInput): Promise<GqlResponse<BulkData>> => server().gql<BulkData>(BULK, { input }, { token });
  return {
    update,
    bulk,
    async updated(token: string, id: string, input: Record<string, unknown>): Promise<UserView> {
      const res = await update(token, id, input);
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      return res.body.data!.updateUser;
    },
    async bulkOk(token: string, input: BulkInput): Promise<BulkResult> {
      const res = await bulk(token, input);
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      return res.body.data!.bulkUsers;
    },
    async row(id: string): Promise<UserRow> {
      const [r] = await server().deps.db.select().from(users).where(eq(users.id, id));
      return r!;
    },
    activeAdminIds: (): Promise<string[]> => activeAdminIds(server()),
    meCode: async (tokens: AuthTokens): Promise<string | undefined> =>
      (await server().gql(ME_ROLE, {}, { token: tokens.accessToken })).body.errors?.[0]?.extensions.code,
  };
}
