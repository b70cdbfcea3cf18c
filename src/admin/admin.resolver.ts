import type { GraphQLResolveInfo } from "graphql";
import { Arg, Args, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { argumentGiven } from "../graphql/argument-given.js";
import { Auth } from "../graphql/access.js";
import type { Context } from "../graphql/context.js";
import { parseId } from "../lib/validation.js";
import { User } from "../users/user.types.js";
import { toUserView } from "../users/user.view.js";
import { findUserById } from "../users/users.repo.js";
import {
  AuditEventPage,
  AuditLogArgs,
  BulkUsersInput,
  BulkUsersResult,
  DailyCount,
  UpdateUserArgs,
  UserPage,
  UsersArgs,
  UserStatistics,
} from "./admin.types.js";
import {
  toAuditEventPageView,
  toBulkResultView,
  toDailyCountView,
  toUserConnectionView,
  toUserPageView,
  toUserStatisticsView,
} from "./admin.view.js";
import { listAuditEvents } from "./audit-log.service.js";
import { bulkUsers } from "./bulk-users.service.js";
import { registrationsPerDay, userStatistics } from "./stats.service.js";
import { updateUser } from "./update-user.service.js";
import { sliceUsers } from "./users-connection.service.js";
import { PageInfo, UserConnection, UsersConnectionArgs } from "./users-connection.types.js";
import { countUsers, listUsers, type UserTotal } from "./users-query.service.js";

@Resolver()
export class AdminResolver {
  @Auth("ADMIN")
  @Query(() => UserPage, {
    description: "Users by page, with a total (exact up to 10,000 matches): for a table with page numbers. size 1..100, page >= 1.",
  })
  async users(@Args(() => UsersArgs) args: UsersArgs, @Ctx() ctx: Context): Promise<UserPage> {
    const page = await listUsers(ctx.deps.db, {
      filter: args.filter,
      page: args.page ?? 1,
      size: args.size ?? 20,
      sortBy: args.sortBy ?? "CREATED_AT",
      sortOrder: args.sortOrder ?? "DESC",
    });
    return toUserPageView(page);
  }

  @Auth("ADMIN")
  @Query(() => UserConnection, {
    description:
      "Users as a Relay connection with keyset cursors: `first`/`after` pages forward, `last`/`before` " +
      "backward (first and last 1..100, not both; neither means first 20).",
  })
  async usersConnection(
    @Args(() => UsersConnectionArgs) args: UsersConnectionArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<UserConnection> {
    const slice = await sliceUsers(ctx.deps.db, {
      // `last` without a written `first` pages backward: the schema's default of 20 is not a request for both.
      first: args.last != null && !argumentGiven(info, "first") ? null : args.first,
      after: args.after,
      last: args.last,
      before: args.before,
      filter: args.filter,
      sortBy: args.sortBy ?? "CREATED_AT",
      sortOrder: args.sortOrder ?? "DESC",
    });
    // One count for totalCount and totalCountIsExact, whichever the client selects.
    let total: Promise<UserTotal> | undefined;
    return toUserConnectionView(slice, () => (total ??= countUsers(ctx.deps.db, args.filter)));
  }

  @Auth("ADMIN")
  @Query(() => User, { nullable: true, description: "Any user, deleted ones included; null when there is no such id." })
  async user(
    @Arg("id", () => ID, { description: "The user's UUID (BAD_USER_INPUT when it is not one)." }) id: string,
    @Ctx() ctx: Context,
  ): Promise<User | null> {
    const row = await findUserById(ctx.deps.db, parseId(id));
    return row ? toUserView(row) : null;
  }

  @Auth("ADMIN")
  @Query(() => UserStatistics, { description: "Counts of users by status, role and recent activity, computed when asked." })
  async userStats(@Ctx() ctx: Context): Promise<UserStatistics> {
    return toUserStatisticsView(await userStatistics(ctx.deps.db));
  }

  @Auth("ADMIN")
  @Query(() => AuditEventPage, { description: "The audit trail, newest first, filterable by actor, target, action and time. size 1..100, page >= 1." })
  async auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<AuditEventPage> {
    return toAuditEventPageView(await listAuditEvents(ctx.deps.db, args.filter, args.page ?? 1, args.size ?? 50));
  }

  @Auth("ADMIN")
  @Mutation(() => User, {
    description:
      "Changes a user and returns it; only the fields given change, and the change is audited with before and after. You cannot " +
      "demote or deactivate yourself, and the last active admin stays one (FORBIDDEN). NOT_FOUND for an unknown id; CONFLICT for a taken email.",
  })
  async updateUser(@Args(() => UpdateUserArgs) args: UpdateUserArgs, @Ctx() ctx: Context): Promise<User> {
    const { user } = await ctx.viewer();
    return toUserView(await updateUser(ctx.deps, user, args.id, args.input, ctx.meta));
  }

  @Auth("ADMIN")
  @Mutation(() => BulkUsersResult, {
    description:
      "One operation on up to 1000 users in one transaction, with a result per id. Try dryRun: true first. Your own id anywhere " +
      "in the list is FORBIDDEN for the whole request; unknown ids land in failed with NOT_FOUND.",
  })
  async bulkUsers(
    @Arg("input", () => BulkUsersInput, { description: "The ids and the operation." }) input: BulkUsersInput,
    @Ctx() ctx: Context,
  ): Promise<BulkUsersResult> {
    const { user } = await ctx.viewer();
    return toBulkResultView(await bulkUsers(ctx.deps, user, input, ctx.meta));
  }
}

@Resolver(() => UserConnection)
export class UserConnectionResolver {
  @FieldResolver(() => Int, {
    description:
      "Users matching the filter, over every page, computed only when selected: exact up to 10,000 matches, PostgreSQL's " +
      "planner estimate above that (at least 10,001; totalCountIsExact is then false).",
  })
  async totalCount(@Root() connection: UserConnection): Promise<number> {
    return (await connection.countTotal()).total;
  }

  @FieldResolver(() => Boolean, {
    description: "true when totalCount was counted (10,000 matches or fewer); false when it is an estimate of a larger number.",
  })
  async totalCountIsExact(@Root() connection: UserConnection): Promise<boolean> {
    return (await connection.countTotal()).exact;
  }
}

/** The flags of PageInfo, each possibly an index probe: resolved only when selected. */
@Resolver(() => PageInfo)
export class PageInfoResolver {
  @FieldResolver(() => Boolean)
  hasNextPage(@Root() pageInfo: PageInfo): Promise<boolean> {
    return pageInfo.hasNextPage();
  }

  @FieldResolver(() => Boolean)
  hasPreviousPage(@Root() pageInfo: PageInfo): Promise<boolean> {
    return pageInfo.hasPreviousPage();
  }
}

@Resolver(() => UserStatistics)
export class UserStatisticsResolver {
  @FieldResolver(() => [DailyCount], { description: "One entry per UTC day, oldest first, zeros included. days 1..365." })
  async registrations(
    @Root() _stats: UserStatistics,
    @Ctx() ctx: Context,
    @Arg("days", () => Int, { nullable: true, defaultValue: 30, description: "How many days, ending today (UTC): 1 to 365 (BAD_USER_INPUT outside)." })
    days: number | null,
  ): Promise<DailyCount[]> {
    return (await registrationsPerDay(ctx.deps.db, days ?? 30)).map(toDailyCountView);
  }
}
