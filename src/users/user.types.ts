import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { GraphQLISODateTime } from "type-graphql";

export const Role = { USER: "USER", ADMIN: "ADMIN" } as const;
export type Role = (typeof Role)[keyof typeof Role];
registerEnumType(Role, { name: "Role", description: "What a user may do: ADMIN adds the admin operations." });

@ObjectType({ description: "A person's activity, as the account sees it." })
export class UserActivity {
  @Field(() => Int)
  loginCount!: number;

  @Field(() => GraphQLISODateTime, { nullable: true })
  lastLoginAt!: Date | null;

  @Field(() => Int, { description: "Wrong passwords since the last successful login." })
  failedLoginsSinceLastLogin!: number;

  @Field(() => Int, { description: "Sessions that are neither revoked nor expired." })
  activeSessions!: number;

  @Field(() => GraphQLISODateTime, { nullable: true })
  passwordChangedAt!: Date | null;

  @Field(() => Int, { description: "Whole days since registration." })
  accountAgeDays!: number;
}

@ObjectType({ description: "A user account. Never carries its password hash: see toUserView." })
export class User {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  fullName!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => Boolean)
  isActive!: boolean;

  @Field(() => Boolean)
  emailVerified!: boolean;

  @Field(() => String, { nullable: true, description: "A new address waiting for confirmation." })
  pendingEmail!: string | null;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime)
  updatedAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  lastLoginAt!: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "Set when the account was soft-deleted." })
  deletedAt!: Date | null;

  /** Set by toOwnUserView: the object is the caller's own account, whether or not a token came. */
  isCaller?: boolean;

  /** Resolved by UserResolver.stats from these counters plus a batched session count. */
  activity!: Omit<UserActivity, "activeSessions">;
}
