import { ArgsType, Field, Int, ObjectType } from "type-graphql";
import { User } from "../users/user.types.js";
import { SortOrder, UserFilter, UserSortField } from "./admin.types.js";
import type { UserTotal } from "./users-query.service.js";

/*
 * The types of usersConnection, shaped as the Relay Cursor Connections spec names them (UserEdge,
 * PageInfo, UserConnection). The resolvers of the lazy fields are in admin.resolver.ts.
 */

@ObjectType({ description: "A user of the connection, with its position in the list." })
export class UserEdge {
  @Field(() => String, {
    description:
      "Opaque position of this user in the list: pass it as `after` to continue after this user, or as `before` to page " +
      "back from it. Valid for the same sortBy and sortOrder under any filter, also once the user is gone.",
  })
  cursor!: string;

  @Field(() => User, { description: "The user." })
  node!: User;
}

@ObjectType({ description: "Where a connection's page sits in the list (Relay Cursor Connections spec)." })
export class PageInfo {
  // Both flags are functions resolved by PageInfoResolver: the one the LIMIT + 1 row cannot answer is an
  // index probe, which runs only when the client selects that flag.
  @Field(() => Boolean, {
    description:
      "With `first` (or neither first nor last): the window after `after` and before `before` holds more users than " +
      "`first`. With `last`: a user of the filter is at or after `before` (false without `before`).",
  })
  hasNextPage!: () => Promise<boolean>;

  @Field(() => Boolean, {
    description:
      "With `last`: the window after `after` and before `before` holds more users than `last`. With `first`: a user " +
      "of the filter is at or before `after` (false without `after`).",
  })
  hasPreviousPage!: () => Promise<boolean>;

  @Field(() => String, { nullable: true, description: "The first edge's cursor, null when there is no edge. Pass it as `before` for the page before." })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: "The last edge's cursor, null when there is no edge. Pass it as `after` for the page after." })
  endCursor!: string | null;
}

@ObjectType({
  description:
    "Users as a Relay connection with keyset cursors: every page, forward (first/after) or backward (last/before), " +
    "is one seek into the sort's index, so a deep page costs what the first page costs.",
})
export class UserConnection {
  @Field(() => [UserEdge], { description: "The page's users in the sort's order, also when paging backward with `last`." })
  edges!: UserEdge[];

  @Field(() => PageInfo, { description: "The cursors of the page's ends and whether more users lie on either side." })
  pageInfo!: PageInfo;

  /** Counted by the field resolvers, once, only when the client selects totalCount or totalCountIsExact. */
  countTotal!: () => Promise<UserTotal>;
}

/*
 * `first` keeps its documented default of 20; when a client gives `last` without writing `first`, the
 * resolver drops that default (argumentGiven), so `last` alone pages backward.
 */
@ArgsType()
export class UsersConnectionArgs {
  @Field(() => Int, {
    nullable: true,
    defaultValue: 20,
    description: "Page forward: the first `first` users after `after`, 1..100. The default 20 applies when `last` is not given; not with `last`.",
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: "Start after this cursor (exclusive): an endCursor or edge cursor from the same sortBy and sortOrder.",
  })
  after?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: "Page backward: the last `last` users before `before`, 1..100, still listed in the sort's order. Not with `first`.",
  })
  last?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      "End before this cursor (exclusive): a startCursor or edge cursor from the same sortBy and sortOrder. " +
      "With `after` too, the page is taken from the users between the two.",
  })
  before?: string | null;

  @Field(() => UserFilter, { nullable: true, description: "Which users: the filters of `users`, combined." })
  filter?: UserFilter | null;

  @Field(() => UserSortField, { nullable: true, defaultValue: "CREATED_AT", description: "The sort key; ties are broken by id, so the order is total." })
  sortBy?: UserSortField | null;

  @Field(() => SortOrder, { nullable: true, defaultValue: "DESC", description: "The direction of sortBy and of its tie-break by id." })
  sortOrder?: SortOrder | null;
}
