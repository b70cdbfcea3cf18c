import { and, eq, isNull } from "drizzle-orm";
import { expect } from "vitest";
import { users } from "../../src/db/schema.js";
import { STRONG_PASSWORD, uniqueEmail, type GqlResponse, type TestServer } from "./server.js";

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { id email fullName role isActive emailVerified createdAt }
  }
`;

export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { accessToken refreshToken tokenType expiresIn user { id email role } }
  }
`;

export interface AuthTokens {
  accessToken: string;
  refreshToken: string;
}

export interface TestUser extends AuthTokens {
  id: string;
  email: string;
  password: string;
}

/** Registers and logs in a fresh user through the API. */
export async function signUp(
  t: TestServer,
  overrides: { email?: string; password?: string; fullName?: string; role?: "USER" | "ADMIN" } = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? STRONG_PASSWORD;
  const reg = await t.gql<{ register: { id: string } }>(REGISTER, {
    input: { email, password, fullName: overrides.fullName ?? "Test User" },
  });
  if (!reg.body.data?.register) throw new Error(`register failed: ${JSON.stringify(reg.body.errors)}`);
  if (overrides.role === "ADMIN") {
    await t.deps.db.update(users).set({ role: "ADMIN" }).where(eq(users.id, reg.body.data.register.id));
  }
  const tokens = await logIn(t, email, password);
  return { id: reg.body.data.register.id, email, password, ...tokens };
}

/** Logs in through the API; fails the test when login fails. */
export async function logIn(t: TestServer, email: string, password: string): Promise<AuthTokens> {
  const res = await t.gql<{ login: AuthTokens }>(LOGIN, { input: { email, password } });
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login;
}

/** The ids of the active, not deleted admins, sorted. */
export async function activeAdminIds(t: TestServer): Promise<string[]> {
  const rows = await t.deps.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.isActive, true), isNull(users.deletedAt)));
  return rows.map((r) => r.id).sort();
}

/** The single error of a response (fails the test when there is not exactly one). */
export function onlyError(res: { body: { errors?: Array<{ extensions: { code: string } & Record<string, unknown>; message: string }> } }) {
  const errors = res.body.errors ?? [];
  if (errors.length !== 1) throw new Error(`expected exactly one error, got ${JSON.stringify(res.body)}`);
  return errors[0]!;
}

/**
 * One BAD_USER_INPUT error naming exactly one field (a name, or a pattern for names nested under an
 * argument), with a message. The data is null; with `nullableRoot`, each root field is null instead
 * (a nullable root field such as `user` answers { user: null }).
 */
export function expectBadInput(res: GqlResponse<object>, field: string | RegExp, options: { nullableRoot?: boolean } = {}): void {
  const error = onlyError(res);
  expect(error.extensions.code).toBe("BAD_USER_INPUT");
  expect(error.extensions["fields"]).toEqual([
    { field: typeof field === "string" ? field : expect.stringMatching(field), message: expect.any(String) },
  ]);
  if (options.nullableRoot) expect(Object.values(res.body.data ?? {}).every((v) => v === null)).toBe(true);
  else expect(res.body.data ?? null).toBeNull();
}

/** One UNAUTHENTICATED error, and no data. */
export function expectUnauthenticated(res: GqlResponse<object>): void {
  expect(onlyError(res).extensions.code).toBe("UNAUTHENTICATED");
  expect(res.body.data ?? null).toBeNull();
}
