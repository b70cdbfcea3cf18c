import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { GraphQLISODateTime } from "type-graphql";
import { User } from "../users/user.types.js";

@InputType({ description: "A new account. Every bad field is reported at once, in BAD_USER_INPUT's extensions.fields." })
export class RegisterInput {
  @Field(() => String, {
    description: "The address to log in with; trimmed and lower-cased. CONFLICT when an account already has it. A verification link is sent there.",
  })
  email!: string;

  @Field(() => String, { description: "8 to 128 characters; weak, common or email-derived passwords are refused." })
  password!: string;

  @Field(() => String, { description: "The display name: 1 to 100 characters, without control, bidi or invisible characters." })
  fullName!: string;
}

@InputType({ description: "Credentials for login." })
export class LoginInput {
  @Field(() => String, { description: "The account's address, in any letter case." })
  email!: string;

  @Field(() => String, { description: "The account's password (over 1024 characters is BAD_USER_INPUT)." })
  password!: string;
}

@InputType({ description: "A reset link's token and the password to set." })
export class ResetPasswordInput {
  @Field(() => String, { description: "The token from the reset link." })
  token!: string;

  @Field(() => String, { description: "The new password, under the same policy as register's password (BAD_USER_INPUT on newPassword)." })
  newPassword!: string;
}

@ObjectType({ description: "A fresh token pair, from login, refreshToken or changePassword, and the account it belongs to." })
export class AuthPayload {
  @Field(() => String, { description: "Short-lived JWT (ACCESS_TOKEN_TTL, 15 minutes by default) for the Authorization: Bearer header." })
  accessToken!: string;

  @Field(() => String, {
    nullable: true,
    description:
      "Opaque, single use: exchange it with refreshToken for a new pair. null with the cookie transport " +
      "(X-Auth-Transport: cookie): the token is then in the httpOnly gh_refresh cookie, out of JavaScript's reach.",
  })
  refreshToken!: string | null;

  @Field(() => String, { description: 'Always "Bearer".' })
  tokenType!: string;

  @Field(() => Int, { description: "Seconds until accessToken expires." })
  expiresIn!: number;

  @Field(() => Boolean, {
    description:
      "true: these tokens belong to a pending session that must pass verifyMfa (within 5 minutes) before anything but me, verifyMfa, logout and logoutAll.",
  })
  mfaRequired!: boolean;

  @Field(() => User, { description: "The account the tokens belong to, as it is now." })
  user!: User;
}

@ObjectType({ description: "A signed-in device or browser: one refresh-token family." })
export class Session {
  @Field(() => ID, { description: "The session's UUID: pass it to revokeSession." })
  id!: string;

  @Field(() => GraphQLISODateTime, { description: "When the session was opened (a login, or a changePassword)." })
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, { description: "The last refresh or authenticated request, to within a minute." })
  lastUsedAt!: Date;

  @Field(() => GraphQLISODateTime, {
    description: "When the session lapses unless refreshed first; each refresh moves it REFRESH_TOKEN_TTL (30 days by default) ahead.",
  })
  expiresAt!: Date;

  @Field(() => String, { nullable: true, description: "The client address of the last login or refresh; null when it was unknown." })
  ip!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The User-Agent header of the last login or refresh (its first 512 characters); null when none was sent.",
  })
  userAgent!: string | null;

  @Field(() => Boolean, { description: "The session of the token making this request." })
  current!: boolean;
}
