import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { emailTokens, type EmailTokenKind } from "../../src/db/schema.js";
import type { MailMessage } from "../../src/email/transport.js";
import { LOGIN } from "./flows.js";
import type { Mailbox } from "./mailbox.js";
import type { GqlResponse, TestServer } from "./server.js";

/* The operations, subjects and helpers of the email-flow tests (verification, reset, email change). */

export const BASE = "http://localhost:3000";
export const VERIFY_SUBJECT = /^Confirm your email for Gatehouse$/;
export const CHANGE_SUBJECT = /^Confirm your new email for Gatehouse$/;
export const RESET_SUBJECT = /^Reset your Gatehouse password$/;

export const USER_FIELDS = "id email emailVerified pendingEmail";
export const VERIFY = `mutation ($token: String!) { verifyEmail(token: $token) { ${USER_FIELDS} } }`;
export const RESEND = `mutation { resendVerificationEmail }`;
export const REQUEST_RESET = `mutation ($email: String!) { requestPasswordReset(email: $email) }`;
export const RESET = `mutation ($input: ResetPasswordInput!) { resetPassword(input: $input) }`;
export const UPDATE_ME = `mutation ($input: UpdateMeInput!) { updateMe(input: $input) { ${USER_FIELDS} } }`;
export const ME = `query { me { ${USER_FIELDS} } }`;

export interface UserView {
  id: string;
  email: string;
  emailVerified: boolean;
  pendingEmail: string | null;
}

/** The calls the email-flow tests make, bound to the file's server (read when called) and mailbox. */
export function emailFlowCalls(server: () => TestServer, mailbox: Mailbox) {
  const mailTo = (to: string, subject: RegExp): MailMessage[] => mailbox.sent.filter((m) => m.to === to && subject.test(m.subject));
  return {
    mailTo,
    /** The email number `index` (0-based) to `to` matching `subject`, waiting for it to arrive. */
    async nthMail(to: string, subject: RegExp, index: number): Promise<MailMessage> {
      const deadline = Date.now() + 5000;
      while (mailTo(to, subject).length <= index) {
        if (Date.now() > deadline) throw new Error(`email #${index + 1} to ${to} matching ${subject} never came`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return mailTo(to, subject)[index]!;
    },
    verify: (token: string): Promise<GqlResponse<{ verifyEmail: UserView }>> => server().gql<{ verifyEmail: UserView }>(VERIFY, { token }),
    reset: (token: string, newPassword: string): Promise<GqlResponse<{ resetPassword: boolean }>> =>
      server().gql<{ resetPassword: boolean }>(RESET, { input: { token, newPassword } }),
    async expireTokens(userId: string, kind: EmailTokenKind): Promise<void> {
      const rows = await server()
        .deps.db.update(emailTokens)
        .set({ expiresAt: sql`now() - interval '1 minute'` })
        .where(and(eq(emailTokens.userId, userId), eq(emailTokens.kind, kind)))
        .returning();
      expect(rows.length).toBeGreaterThan(0);
    },
    async loginCode(email: string, password: string): Promise<string | undefined> {
      const res = await server().gql(LOGIN, { input: { email, password } });
      return res.body.errors?.[0]?.extensions.code;
    },
    async requestReset(email: string): Promise<void> {
      const res = await server().gql<{ requestPasswordReset: boolean }>(REQUEST_RESET, { email });
      expect(res.body).toEqual({ data: { requestPasswordReset: true } });
    },
  };
}
