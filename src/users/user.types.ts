import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { GraphQLISODateTime } from "type-graphql";

export const Role = { USER: "USER", ADMIN: "ADMIN" } as const;
export type Role = (typeof Role)[keyof typeof Role];
registerEnumType(Role, {
  name: "Role",
  description: "What a user may do: ADMIN adds the admin operations.",
  valuesConfig: {
    USER: { description: "A regular account: its own profile, password, sessions and email. What register creates." },
    ADMIN: { description: "Everything USER may, plus the fields whose description says \"Access: admins only\"." },
  },
});

@ObjectType({ description: "A person's activity, as the account sees it." })
export class UserActivity {
  @Field(() => Int, { description: "Successful logins since registration." })
  loginCount!: number;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "The last successful login; null if there was none." })
  lastLoginAt!: Date | null;

  @Field(() => Int, { description: "Wrong passwords since the last successful login." })
  failedLoginsSinceLastLogin!: number;

  @Field(() => Int, { description: "Sessions that are neither revoked nor expired." })
  activeSessions!: number;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description: "The last changePassword or resetPassword; null when the password is still the one set at registration.",
  })
  passwordChangedAt!: Date | null;

  @Field(() => Int, { description: "Whole days since registration." })
  accountAgeDays!: number;
}

@ObjectType({ description: "A user account, as its owner or an admin sees it. It never carries the password or its hash." })
export class User {
  @Field(() => ID, { description: "The account's UUID; it never changes." })
  id!: string;

  @Field(() => String, {
    description: "The address the account logs in with: trimmed, lower-cased, at most 254 characters, one account per address.",
  })
  email!: string;

  @Field(() => String, { description: "The display name: 1 to 100 characters, trimmed, without control, bidi or invisible characters." })
  fullName!: string;

  @Field(() => Role, { description: "USER for every new account; only an admin changes it (updateUser, bulkUsers), never on their own account." })
  role!: Role;

  @Field(() => Boolean, {
    description: "false once deactivated (deactivateMe or an admin): the account cannot log in and its sessions have ended.",
  })
  isActive!: boolean;

  @Field(() => Boolean, {
    description: "true once a link sent to `email` was used (verification, email change or password reset), or an admin said so.",
  })
  emailVerified!: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      "A new address waiting for confirmation: `email` becomes it when verifyEmail gets the link sent there. " +
      "null when no change is pending; a password change or reset cancels it.",
  })
  pendingEmail!: string | null;

  @Field(() => GraphQLISODateTime, { description: "When the account was registered." })
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, { description: "The last change to the account by its owner or an admin (logins do not count)." })
  updatedAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "The last successful login; null if there was none." })
  lastLoginAt!: Date | null;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description: "Set when the account was soft-deleted (bulkUsers DELETE; RESTORE clears it). A deleted account cannot log in.",
  })
  deletedAt!: Date | null;

  /** Set by toOwnUserView: the object is the caller's own account, whether or not a token came. */
  isCaller?: boolean;

  /** Resolved by UserResolver.stats from these counters plus a batched session count. */
  activity!: Omit<UserActivity, "activeSessions">;
}
