import "reflect-metadata";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { GraphQLEnumType, GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AdminResolver, PageInfoResolver, UserConnectionResolver, UserStatisticsResolver } from "../admin/admin.resolver.js";
import { AuthResolver } from "../auth/auth.resolver.js";
import { EmailResolver } from "../email/email.resolver.js";
// After EmailResolver, before MeResolver: schema.graphql keeps the reset fields where they were (see `resolvers`).
import { PasswordResetResolver } from "../auth/password-reset.resolver.js";
import { MeResolver } from "../me/me.resolver.js";
import { MfaResolver, UserMfaResolver } from "../auth/mfa/mfa.resolver.js";
import { UserActivityResolver, UserResolver } from "../users/user.resolver.js";
import { OAuthResolver } from "../auth/oauth/oauth.resolver.js";
import { accessDirectives, applyAccessRules, describeAccess } from "./access.js";

/*
 * Which resolvers make the schema. The order of root fields in schema.graphql is NOT this list's: it is
 * the order in which type-graphql's decorators ran, that is, the order in which the imports above
 * evaluate their modules (then declaration order within a class). Moving an import moves fields in
 * schema.graphql; `npm run schema:check` says so.
 */
const resolvers = [
  AuthResolver,
  PasswordResetResolver,
  EmailResolver,
  MeResolver,
  MfaResolver,
  AdminResolver,
  UserResolver,
  UserActivityResolver,
  UserConnectionResolver,
  PageInfoResolver,
  UserStatisticsResolver,
  UserMfaResolver,
  OAuthResolver,
] as const;

let built: Promise<GraphQLSchema> | undefined;

/**
 * The executable schema: type-graphql's, plus the @auth/@public directive definitions (whose `requires`
 * argument uses the schema's own Role enum), each root field's description ending with who may call it
 * (describeAccess), and the access layer around every root field.
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
    return applyAccessRules(describeAccess(withDirectives));
  })());
}

/**
 * The SDL committed as schema.graphql, in the order the code declares it. The printer indents the blank
 * line between two paragraphs of a description; those spaces are dropped (the parsed text is the same),
 * so the file has no trailing whitespace for an editor or `git diff --check` to trip on.
 */
export function printGatehouseSchema(schema: GraphQLSchema): string {
  return `${printSchemaWithDirectives(schema).replace(/[ \t]+$/gm, "").trim()}\n`;
}
