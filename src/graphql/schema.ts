import "reflect-metadata";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { GraphQLEnumType, GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AdminResolver, UserConnectionResolver, UserStatisticsResolver } from "../admin/admin.resolver.js";
import { AuthResolver } from "../auth/auth.resolver.js";
import { EmailResolver } from "../email/email.resolver.js";
import { MeResolver } from "../me/me.resolver.js";
import { UserActivityResolver, UserResolver } from "../users/user.resolver.js";
import { accessDirectives, applyAccessRules } from "./access.js";

const resolvers = [
  AuthResolver,
  MeResolver,
  EmailResolver,
  AdminResolver,
  UserResolver,
  UserActivityResolver,
  UserConnectionResolver,
  UserStatisticsResolver,
] as const;

let built: Promise<GraphQLSchema> | undefined;

/**
 * The executable schema: type-graphql's, plus the @auth/@public directive definitions (whose `requires`
 * argument uses the schema's own Role enum) and the access layer around every root field.
 */
export function buildGatehouseSchema(): Promise<GraphQLSchema> {
  return (built ??= (async () => {
    const base = await buildSchema({ resolvers, validate: false, emitSchemaFile: false });
    const role = base.getType("Role");
    if (!(role instanceof GraphQLEnumType)) throw new Error("schema: the Role enum is missing");
    const withDirectives = new GraphQLSchema({
      ...base.toConfig(),
      directives: [...base.getDirectives(), ...accessDirectives(role)],
    });
    return applyAccessRules(withDirectives);
  })());
}

/** The SDL committed as schema.graphql, in the order the code declares it. */
export function printGatehouseSchema(schema: GraphQLSchema): string {
  return `${printSchemaWithDirectives(schema).trim()}\n`;
}
