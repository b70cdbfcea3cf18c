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
registerEnumType(UserSortField, {
  name: "UserSortField",
  description: "What users and usersConnection sort by. Ties are broken by id, so the order is total and pages never overlap.",
  valuesConfig: {
    CREATED_AT: { description: "Registration time." },
    EMAIL: { description: "Email address, case-insensitively." },
    FULL_NAME: { description: "Full name, case-insensitively." },
    LAST_LOGIN_AT: { description: "Last successful login; users who never logged in count as the oldest." },
    ROLE: { description: "Role, USER before ADMIN in ascending order." },
  },
});

export const SortOrder = { ASC: "ASC", DESC: "DESC" } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
registerEnumType(SortOrder, {
  name: "SortOrder",
  description: "The direction of a sort.",
  valuesConfig: {
    ASC: { description: "Ascending: oldest, A to Z, USER first." },
    DESC: { description: "Descending: newest, Z to A, ADMIN first." },
  },
});

export const BulkOperation = {
  ACTIVATE: "ACTIVATE",
  DEACTIVATE: "DEACTIVATE",
  DELETE: "DELETE",
  RESTORE: "RESTORE",
  UPDATE_ROLE: "UPDATE_ROLE",
} as const;
export type BulkOperation = (typeof BulkOperation)[keyof typeof BulkOperation];
registerEnumType(BulkOperation, {
  name: "BulkOperation",
  description: "What bulkUsers does to each user. A user it does not apply to lands in failed, with a BulkFailure code.",
  valuesConfig: {
    ACTIVATE: { description: "Lets inactive users log in again (ALREADY_ACTIVE otherwise)." },
    DEACTIVATE: { description: "Deactivates active users and ends their sessions (ALREADY_INACTIVE otherwise)." },
    DELETE: { description: "Soft-deletes users (sets deletedAt) and ends their sessions; RESTORE undoes it." },
    RESTORE: { description: "Undoes DELETE (NOT_DELETED for a user that is not deleted)." },
    UPDATE_ROLE: { description: "Sets BulkUsersInput.role, which it requires (ALREADY_HAS_ROLE for users that have it)." },
  },
});

@InputType({ description: "Which users to list. Every condition given must hold; none given lists every user that is not deleted." })
export class UserFilter {
  @Field(() => String, {
    nullable: true,
    description:
      "Case-insensitive substring of email or full name (trigram-indexed). " +
      "A query of 1 or 2 characters matches the start of the email or of the full name instead (prefix-indexed).",
  })
  query?: string | null;

  @Field(() => Role, { nullable: true, description: "Only users with this role." })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, description: "true: only active users; false: only deactivated ones." })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "true: only verified addresses; false: only unverified ones." })
  emailVerified?: boolean | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "Only users registered at or after this instant." })
  createdAfter?: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "Only users registered before this instant." })
  createdBefore?: Date | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Include soft-deleted users (hidden by default)." })
  includeDeleted?: boolean | null;
}

@ObjectType({
  description: "One page of users, with the number of matches: counted up to 10,000, estimated above (see totalIsExact).",
})
export class UserPage {
  @Field(() => [User], { description: "At most `size` users, in the requested order; empty past the last page." })
  items!: User[];

  @Field(() => Int, {
    description:
      "Users matching the filter, over all pages: exact up to 10,000 matches. Above that it is PostgreSQL's planner " +
      "estimate (at least 10,001), and totalIsExact is false.",
  })
  total!: number;

  @Field(() => Boolean, {
    description: "true when total was counted (10,000 matches or fewer); false when it is an estimate of a larger number.",
  })
  totalIsExact!: boolean;

  @Field(() => Int, { description: "This page's number, from 1." })
  page!: number;

  @Field(() => Int, { description: "The page size asked for." })
  size!: number;

  @Field(() => Int, { description: "How many pages of `size` the total fills (0 when nothing matches); an estimate too when total is." })
  pages!: number;
}

@InputType({ description: "An admin's changes to a user. A field left out or null stays as it is." })
export class UpdateUserInput {
  @Field(() => String, { nullable: true, description: "A new display name: 1 to 100 characters." })
  fullName?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Applies at once (no confirmation) and must be free (CONFLICT otherwise). Unless emailVerified is given too, the new " +
      "address counts as unverified; links sent before stop working.",
  })
  email?: string | null;

  @Field(() => Role, { nullable: true, description: "A new role, effective at the user's next request. Your own admin role is FORBIDDEN to drop." })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, description: "false ends every session of the user; deactivating yourself is FORBIDDEN." })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Marks the address verified or not, without a link." })
  emailVerified?: boolean | null;
}

@InputType({ description: "One operation for many users." })
export class BulkUsersInput {
  @Field(() => [ID], { description: "1 to 1000 ids; duplicates are folded. Your own id refuses the whole request." })
  userIds!: string[];

  @Field(() => BulkOperation, { description: "What to do to each user." })
  operation!: BulkOperation;

  @Field(() => Role, { nullable: true, description: "The role UPDATE_ROLE sets; required by it (BAD_USER_INPUT on role), ignored otherwise." })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Report what would happen; change nothing." })
  dryRun?: boolean | null;
}

@ObjectType({ description: "A user the operation was not applied to, and why." })
export class BulkFailure {
  @Field(() => ID, { description: "The id as requested (lower-cased)." })
  id!: string;

  @Field(() => String, {
    description: "NOT_FOUND, ALREADY_DELETED, NOT_DELETED, ALREADY_ACTIVE, ALREADY_INACTIVE, ALREADY_HAS_ROLE or LAST_ADMIN.",
  })
  code!: string;

  @Field(() => String, { description: "The reason, for a person to read." })
  message!: string;
}

@ObjectType({ description: "What bulkUsers did (or, for a dry run, would do), id by id: each requested id is in succeeded or in failed." })
export class BulkUsersResult {
  @Field(() => BulkOperation, { description: "The operation that ran." })
  operation!: BulkOperation;

  @Field(() => Int, { description: "Distinct ids requested." })
  requested!: number;

  @Field(() => [ID], { description: "Ids the operation was applied to (or would be, in a dry run)." })
  succeeded!: string[];

  @Field(() => [BulkFailure], { description: "Ids it was not applied to, each with a code." })
  failed!: BulkFailure[];

  @Field(() => Boolean, { description: "true when nothing was changed: the result only reports what a real run would do." })
  dryRun!: boolean;

  @Field(() => ID, { nullable: true, description: "Groups the run's audit events; null for a dry run." })
  bulkId!: string | null;
}

@ObjectType({ description: "How many users that are not deleted have one role." })
export class RoleCount {
  @Field(() => Role, { description: "The role counted." })
  role!: Role;

  @Field(() => Int, { description: "Users with it, active or not." })
  count!: number;
}

@ObjectType({ description: "Registrations on one UTC day." })
export class DailyCount {
  @Field(() => String, { description: "YYYY-MM-DD (UTC)" })
  date!: string;

  @Field(() => Int, { description: "Users registered that day who are not deleted." })
  count!: number;
}

@ObjectType({ description: "Every count but `deleted` is over users that are not deleted." })
export class UserStatistics {
  @Field(() => Int, { description: "Users that are not deleted." }) total!: number;
  @Field(() => Int, { description: "Of those, the active ones." }) active!: number;
  @Field(() => Int, { description: "Of those, the deactivated ones." }) inactive!: number;
  @Field(() => Int, { description: "Soft-deleted users." }) deleted!: number;
  @Field(() => Int, { description: "Users with a verified address." }) verified!: number;
  @Field(() => Int, { description: "Users whose address is not verified." }) unverified!: number;
  @Field(() => [RoleCount], { description: "Users per role: ADMIN, then USER." }) byRole!: RoleCount[];
  @Field(() => Int, { description: "By last login: users who logged in within the last 24 hours." }) activeLast24h!: number;
  @Field(() => Int, { description: "Users who logged in within the last 7 days." }) activeLast7d!: number;
  @Field(() => Int, { description: "Users who logged in within the last 30 days." }) activeLast30d!: number;
  @Field(() => Int, { description: "Users registered within the last 7 days." }) newLast7d!: number;
  @Field(() => Int, { description: "Users registered within the last 30 days." }) newLast30d!: number;
}

@ObjectType({ description: "One security-relevant event or admin change, written in the same transaction as the change." })
export class AuditEvent {
  @Field(() => ID, { description: "The event's UUID." }) id!: string;
  @Field(() => GraphQLISODateTime, { description: "When it happened." }) at!: Date;
  @Field(() => String, { description: "What happened, e.g. user.registered, user.login_failed, admin.user_updated, admin.bulk" }) action!: string;
  @Field(() => ID, { nullable: true, description: "Who acted; null for anonymous actions (a failed login, a reset request)." }) actorId!: string | null;
  @Field(() => ID, { nullable: true, description: "The user acted on; null when there is none (a login to an unknown email)." }) targetId!: string | null;
  @Field(() => String, { nullable: true, description: "The client address of the request; null when unknown." }) ip!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: "Per action, e.g. { before, after } for updates; { bulkId, operation } for bulk." })
  details!: Record<string, unknown> | null;
}

@InputType({ description: "Which audit events to list. Every condition given must hold." })
export class AuditFilter {
  @Field(() => ID, { nullable: true, description: "Only events by this user." }) actorId?: string | null;
  @Field(() => ID, { nullable: true, description: "Only events about this user." }) targetId?: string | null;
  @Field(() => String, { nullable: true, description: "Only this action, exactly (e.g. user.login_failed); at most 100 characters." }) action?: string | null;
  @Field(() => GraphQLISODateTime, { nullable: true, description: "Only events at or after this instant." }) after?: Date | null;
  @Field(() => GraphQLISODateTime, { nullable: true, description: "Only events before this instant." }) before?: Date | null;
}

@ObjectType({ description: "One page of audit events, newest first, with the exact number of matches." })
export class AuditEventPage {
  @Field(() => [AuditEvent], { description: "At most `size` events; empty past the last page." }) items!: AuditEvent[];
  @Field(() => Int, { description: "Events matching the filter, over all pages." }) total!: number;
  @Field(() => Int, { description: "This page's number, from 1." }) page!: number;
  @Field(() => Int, { description: "The page size asked for." }) size!: number;
  @Field(() => Int, { description: "How many pages of `size` the total fills (0 when nothing matches)." }) pages!: number;
}

/*
 * Argument lists as classes: type-graphql prints @ArgsType fields in declaration order, so the SDL
 * reads as the contract does. Arguments with defaults stay nullable (`page: Int = 1`), as in API.md;
 * an explicit null means the default.
 */

@ArgsType()
export class UsersArgs {
  @Field(() => UserFilter, { nullable: true, description: "Which users; none: every user that is not deleted." })
  filter?: UserFilter | null;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: "The page to return, from 1 (BAD_USER_INPUT below)." })
  page?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 20, description: "Users per page, 1 to 100 (BAD_USER_INPUT outside)." })
  size?: number | null;

  @Field(() => UserSortField, { nullable: true, defaultValue: "CREATED_AT", description: "What to sort by." })
  sortBy?: UserSortField | null;

  @Field(() => SortOrder, { nullable: true, defaultValue: "DESC", description: "Which way to sort." })
  sortOrder?: SortOrder | null;
}

@ArgsType()
export class AuditLogArgs {
  @Field(() => AuditFilter, { nullable: true, description: "Which events; none: all of them." })
  filter?: AuditFilter | null;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: "The page to return, from 1 (BAD_USER_INPUT below)." })
  page?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 50, description: "Events per page, 1 to 100 (BAD_USER_INPUT outside)." })
  size?: number | null;
}

@ArgsType()
export class UpdateUserArgs {
  @Field(() => ID, { description: "The user to change; NOT_FOUND when there is none." })
  id!: string;

  @Field(() => UpdateUserInput, { description: "The changes to make." })
  input!: UpdateUserInput;
}
