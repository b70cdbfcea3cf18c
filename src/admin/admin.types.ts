import { GraphQLJSONObject } from "graphql-scalars";
import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { GraphQLISODateTime } from "type-graphql";
import { Role, User } from "../users/user.types.js";

export const UserSortField = {
  CREATED_AT: "CREATED_AT",
  EMAIL: "EMAIL",
  FULL_NAME: "FULL_NAME",
  LAST_LOGIN_AT: "LAST_LOGIN_AT",
  ROLE: "ROLE",
} as const;
export type UserSortField = (typeof UserSortField)[keyof typeof UserSortField];
registerEnumType(UserSortField, { name: "UserSortField" });

export const SortOrder = { ASC: "ASC", DESC: "DESC" } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
registerEnumType(SortOrder, { name: "SortOrder" });

export const BulkOperation = {
  ACTIVATE: "ACTIVATE",
  DEACTIVATE: "DEACTIVATE",
  DELETE: "DELETE",
  RESTORE: "RESTORE",
  UPDATE_ROLE: "UPDATE_ROLE",
} as const;
export type BulkOperation = (typeof BulkOperation)[keyof typeof BulkOperation];
registerEnumType(BulkOperation, { name: "BulkOperation" });

@InputType()
export class UserFilter {
  @Field(() => String, {
    nullable: true,
    description:
      "Case-insensitive substring of email or full name (trigram-indexed). " +
      "A query of 1 or 2 characters matches the start of the email or of the full name instead (prefix-indexed).",
  })
  query?: string | null;

  @Field(() => Role, { nullable: true })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  emailVerified?: boolean | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  createdAfter?: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  createdBefore?: Date | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Include soft-deleted users." })
  includeDeleted?: boolean | null;
}

@ObjectType()
export class UserPage {
  @Field(() => [User])
  items!: User[];

  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  page!: number;

  @Field(() => Int)
  size!: number;

  @Field(() => Int)
  pages!: number;
}

@InputType()
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  fullName?: string | null;

  @Field(() => String, { nullable: true, description: "Applies at once (no confirmation); must be free." })
  email?: string | null;

  @Field(() => Role, { nullable: true })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, description: "false ends every session of the user." })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  emailVerified?: boolean | null;
}

@InputType()
export class BulkUsersInput {
  @Field(() => [ID], { description: "1 to 1000 ids; duplicates are folded. Your own id refuses the whole request." })
  userIds!: string[];

  @Field(() => BulkOperation)
  operation!: BulkOperation;

  @Field(() => Role, { nullable: true, description: "Required by UPDATE_ROLE." })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Report what would happen; change nothing." })
  dryRun?: boolean | null;
}

@ObjectType()
export class BulkFailure {
  @Field(() => ID)
  id!: string;

  @Field(() => String, {
    description: "NOT_FOUND, ALREADY_DELETED, NOT_DELETED, ALREADY_ACTIVE, ALREADY_INACTIVE, ALREADY_HAS_ROLE or LAST_ADMIN.",
  })
  code!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType()
export class BulkUsersResult {
  @Field(() => BulkOperation)
  operation!: BulkOperation;

  @Field(() => Int, { description: "Distinct ids requested." })
  requested!: number;

  @Field(() => [ID])
  succeeded!: string[];

  @Field(() => [BulkFailure])
  failed!: BulkFailure[];

  @Field(() => Boolean)
  dryRun!: boolean;

  @Field(() => ID, { nullable: true, description: "Groups the run's audit events; null for a dry run." })
  bulkId!: string | null;
}

@ObjectType()
export class RoleCount {
  @Field(() => Role)
  role!: Role;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class DailyCount {
  @Field(() => String, { description: "YYYY-MM-DD (UTC)" })
  date!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: "Every count but `deleted` is over users that are not deleted." })
export class UserStatistics {
  @Field(() => Int) total!: number;
  @Field(() => Int) active!: number;
  @Field(() => Int) inactive!: number;
  @Field(() => Int) deleted!: number;
  @Field(() => Int) verified!: number;
  @Field(() => Int) unverified!: number;
  @Field(() => [RoleCount]) byRole!: RoleCount[];
  @Field(() => Int, { description: "By last login." }) activeLast24h!: number;
  @Field(() => Int) activeLast7d!: number;
  @Field(() => Int) activeLast30d!: number;
  @Field(() => Int) newLast7d!: number;
  @Field(() => Int) newLast30d!: number;
}

@ObjectType()
export class AuditEvent {
  @Field(() => ID) id!: string;
  @Field(() => GraphQLISODateTime) at!: Date;
  @Field(() => String, { description: "e.g. user.registered, user.login_failed, admin.user_updated, admin.bulk" }) action!: string;
  @Field(() => ID, { nullable: true, description: "null for anonymous actions" }) actorId!: string | null;
  @Field(() => ID, { nullable: true }) targetId!: string | null;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) details!: Record<string, unknown> | null;
}

@InputType()
export class AuditFilter {
  @Field(() => ID, { nullable: true }) actorId?: string | null;
  @Field(() => ID, { nullable: true }) targetId?: string | null;
  @Field(() => String, { nullable: true }) action?: string | null;
  @Field(() => GraphQLISODateTime, { nullable: true }) after?: Date | null;
  @Field(() => GraphQLISODateTime, { nullable: true }) before?: Date | null;
}

@ObjectType()
export class AuditEventPage {
  @Field(() => [AuditEvent]) items!: AuditEvent[];
  @Field(() => Int) total!: number;
  @Field(() => Int) page!: number;
  @Field(() => Int) size!: number;
  @Field(() => Int) pages!: number;
}

/*
 * Argument lists as classes: type-graphql prints @ArgsType fields in declaration order, so the SDL
 * reads as the contract does. Arguments with defaults stay nullable (`page: Int = 1`), as in API.md;
 * an explicit null means the default.
 */

@ArgsType()
export class UsersArgs {
  @Field(() => UserFilter, { nullable: true })
  filter?: UserFilter | null;

  @Field(() => Int, { nullable: true, defaultValue: 1 })
  page?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 20 })
  size?: number | null;

  @Field(() => UserSortField, { nullable: true, defaultValue: "CREATED_AT" })
  sortBy?: UserSortField | null;

  @Field(() => SortOrder, { nullable: true, defaultValue: "DESC" })
  sortOrder?: SortOrder | null;
}

@ArgsType()
export class AuditLogArgs {
  @Field(() => AuditFilter, { nullable: true })
  filter?: AuditFilter | null;

  @Field(() => Int, { nullable: true, defaultValue: 1 })
  page?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 50 })
  size?: number | null;
}

@ArgsType()
export class UpdateUserArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => UpdateUserInput)
  input!: UpdateUserInput;
}
