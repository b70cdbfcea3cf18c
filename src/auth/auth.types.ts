import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { GraphQLISODateTime } from "type-graphql";
import { User } from "../users/user.types.js";

@InputType()
export class RegisterInput {
  @Field(() => String)
  email!: string;

  @Field(() => String, { description: "8 to 128 characters; weak, common or email-derived passwords are refused." })
  password!: string;

  @Field(() => String)
  fullName!: string;
}

@InputType()
export class LoginInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;
}

@InputType()
export class ResetPasswordInput {
  @Field(() => String, { description: "The token from the reset link." })
  token!: string;

  @Field(() => String)
  newPassword!: string;
}

@ObjectType()
export class AuthPayload {
  @Field(() => String, { description: "Short-lived JWT for the Authorization: Bearer header." })
  accessToken!: string;

  @Field(() => String, { description: "Opaque, single use: exchange it with refreshToken for a new pair." })
  refreshToken!: string;

  @Field(() => String, { description: 'Always "Bearer".' })
  tokenType!: string;

  @Field(() => Int, { description: "Seconds until accessToken expires." })
  expiresIn!: number;

  @Field(() => Boolean, {
    description:
      "true: these tokens belong to a pending session that must pass verifyMfa (within 5 minutes) before anything but me, verifyMfa, logout and logoutAll.",
  })
  mfaRequired!: boolean;

  @Field(() => User)
  user!: User;
}

@ObjectType({ description: "A signed-in device or browser: one refresh-token family." })
export class Session {
  @Field(() => ID)
  id!: string;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime)
  lastUsedAt!: Date;

  @Field(() => GraphQLISODateTime)
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => Boolean, { description: "The session of the token making this request." })
  current!: boolean;
}
