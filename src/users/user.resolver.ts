import { Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { User, UserActivity } from "./user.types.js";

type ActivityRoot = User["activity"] & { userId: string };

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => UserActivity, { description: "Login and session activity of this account." })
  stats(@Root() user: User): ActivityRoot {
    return { ...user.activity, userId: user.id };
  }
}

@Resolver(() => UserActivity)
export class UserActivityResolver {
  /** Batched per request: a list of users costs one count query, not one per user. */
  @FieldResolver(() => Int)
  activeSessions(@Root() activity: ActivityRoot, @Ctx() ctx: Context): Promise<number> {
    return ctx.loaders.activeSessions.load(activity.userId);
  }
}
