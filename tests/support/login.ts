import { eq } from "drizzle-orm";
import type { Hasher } from "../../src/deps.js";
import { sessions } from "../../src/db/schema.js";
import { REGISTER } from "./flows.js";
import { STRONG_PASSWORD, fastHasher, uniqueEmail, type GqlResponse, type TestServer } from "./server.js";

/* The operation, shapes and helpers the login tests share. */

export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken refreshToken tokenType expiresIn
      user { id email fullName role isActive lastLoginAt stats { loginCount failedLoginsSinceLastLogin } }
    }
  }
`;

export const ME = /* GraphQL */ `
  query Me { me { id lastLoginAt stats { loginCount lastLoginAt failedLoginsSinceLastLogin activeSessions } } }
`;

export interface LoginPayload {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: {
    id: string;
    email: string;
    fullName: string;
    role: string;
    isActive: boolean;
    lastLoginAt: string | null;
    stats: { loginCount: number; failedLoginsSinceLastLogin: number };
  };
}

export interface MeView {
  id: string;
  lastLoginAt: string | null;
  stats: { loginCount: number; lastLoginAt: string | null; failedLoginsSinceLastLogin: number; activeSessions: number };
}

export interface Account {
  id: string;
  email: string;
  password: string;
}

/**
 * A real (fast) hasher wrapped to record every hash the login flow verifies against, in order, and how
 * many it makes; takeHashingWork() returns the work done since its last call.
 */
export function createCountingHasher(): { hasher: Hasher; takeHashingWork: () => { verified: string[]; hashed: number } } {
  const verified: string[] = [];
  let hashed = 0;
  const inner = fastHasher();
  const hasher: Hasher = {
    hash: async (password) => {
      hashed += 1;
      return inner.hash(password);
    },
    verify: async (passwordHash, password) => {
      verified.push(passwordHash);
      return inner.verify(passwordHash, password);
    },
    dummyHash: () => inner.dummyHash(),
  };
  const takeHashingWork = () => {
    const work = { verified: verified.splice(0), hashed };
    hashed = 0;
    return work;
  };
  return { hasher, takeHashingWork };
}

/** "$argon2id$v=19$m=256,t=1,p=1$salt$hash" -> "argon2id v=19 m=256,t=1,p=1" */
export const argon2Params = (phc: string): string => phc.split("$").slice(1, 4).join(" ");

/** The calls the login tests make, bound to the file's server (read when called: it starts in beforeAll). */
export function loginCalls(server: () => TestServer) {
  return {
    /** Registers without logging in, so login counters and sessions start at zero. */
    async registerOnly(): Promise<Account> {
      const email = uniqueEmail("login");
      const res = await server().gql<{ register: { id: string } }>(REGISTER, { input: { email, password: STRONG_PASSWORD, fullName: "Login Tester" } });
      if (!res.body.data?.register) throw new Error(`register failed: ${JSON.stringify(res.body.errors)}`);
      return { id: res.body.data.register.id, email, password: STRONG_PASSWORD };
    },
    login: (email: string, password: string, headers?: Record<string, string>): Promise<GqlResponse<{ login: LoginPayload }>> =>
      server().gql<{ login: LoginPayload }>(LOGIN, { input: { email, password } }, headers ? { headers } : {}),
    async me(token: string): Promise<MeView> {
      const res = await server().gql<{ me: MeView }>(ME, undefined, { token });
      if (!res.body.data?.me) throw new Error(`me failed: ${JSON.stringify(res.body.errors)}`);
      return res.body.data.me;
    },
    async sessionCount(userId: string): Promise<number> {
      return (await server().deps.db.select().from(sessions).where(eq(sessions.userId, userId))).length;
    },
  };
}
