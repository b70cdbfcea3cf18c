import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema.js";
import { STRONG_PASSWORD, uniqueEmail, type TestServer } from "./server.js";

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

export async function logIn(t: TestServer, email: string, password: string): Promise<AuthTokens> {
  const res = await t.gql<{ login: AuthTokens }>(LOGIN, { input: { email, password } });
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login;
}

/** The single error of a response (fails the test when there is not exactly one). */
export function onlyError(res: { body: { errors?: Array<{ extensions: { code: string } & Record<string, unknown>; message: string }> } }) {
  const errors = res.body.errors ?? [];
  if (errors.length !== 1) throw new Error(`expected exactly one error, got ${JSON.stringify(res.body)}`);
  return errors[0]!;
}
