import { MapperKind, getDirective, mapSchema } from "@graphql-tools/utils";
import {
  DirectiveLocation,
  GraphQLDirective,
  GraphQLObjectType,
  defaultFieldResolver,
  type GraphQLEnumType,
  type GraphQLFieldConfig,
  type GraphQLSchema,
} from "graphql";
import { Directive } from "type-graphql";
import { mfaEnrollmentRequired, mfaRequired } from "../auth/mfa/mfa-errors.js";
import { forbidden } from "../errors.js";
import type { Role } from "../users/user.types.js";
import type { Context } from "./context.js";

/*
 * Access rules. Each root field says who may call it, once, with @Auth() / @Auth("ADMIN") / @Public().
 * Those decorators only write the @auth / @public directive into the schema (so schema.graphql shows
 * the rule); applyAccessRules below is the one place that enforces them, and it refuses any root field
 * that has neither (deny by default).
 *
 * Two rules of the second factor (API.md §7) live here too, so no resolver repeats them: a session still
 * waiting for its second factor reaches only the @auth fields marked @allowPendingMfa (FORBIDDEN, reason
 * MFA_REQUIRED, elsewhere); and with REQUIRE_ADMIN_MFA an admin without TOTP reaches no ADMIN field
 * (FORBIDDEN, reason MFA_ENROLLMENT_REQUIRED). @public fields never look at the session.
 */

/** The caller must be authenticated, and an ADMIN when `requires` is "ADMIN". */
export const Auth = (requires: Role = "USER") => Directive(`@auth(requires: ${requires})`);

/** Anyone may call this field, authenticated or not. */
export const Public = () => Directive("@public");

/** A session still waiting for its second factor may call this field too (me, verifyMfa, logout, logoutAll). */
export const AllowPendingMfa = () => Directive("@allowPendingMfa");

export function accessDirectives(role: GraphQLEnumType): GraphQLDirective[] {
  return [
    new GraphQLDirective({
      name: "auth",
      description:
        "Only an authenticated caller with at least this role may use the field. Otherwise the field fails with " +
        "UNAUTHENTICATED and extensions.reason: NO_TOKEN (no Authorization header), INVALID_TOKEN (malformed or forged), " +
        "TOKEN_EXPIRED (refresh, then retry), SESSION_REVOKED (log in again), ACCOUNT_INACTIVE (deactivated or deleted); " +
        "or with FORBIDDEN when the role is not enough.",
      locations: [DirectiveLocation.FIELD_DEFINITION],
      args: {
        requires: {
          type: role,
          defaultValue: "USER",
          description: "The least role the caller needs: USER admits every authenticated user, ADMIN only admins.",
        },
      },
    }),
    new GraphQLDirective({
      name: "public",
      description: "Anyone may use the field, without a token.",
      locations: [DirectiveLocation.FIELD_DEFINITION],
    }),
    new GraphQLDirective({
      name: "allowPendingMfa",
      description:
        "A session that still waits for its second factor (AuthPayload.mfaRequired) may use the field; " +
        "every other @auth field refuses it with FORBIDDEN, extensions.reason MFA_REQUIRED.",
      locations: [DirectiveLocation.FIELD_DEFINITION],
    }),
  ];
}

export type AccessRule = { kind: "public" } | { kind: "auth"; requires: Role } | { kind: "none" };

export function accessRuleOf(schema: GraphQLSchema, field: GraphQLFieldConfig<unknown, unknown>): AccessRule {
  const auth = getDirective(schema, field, "auth")?.[0];
  const isPublic = getDirective(schema, field, "public")?.[0];
  if (auth && isPublic) return { kind: "none" }; // contradictory: treat as missing so a test catches it
  if (isPublic) return { kind: "public" };
  if (auth) return { kind: "auth", requires: (auth["requires"] as Role | undefined) ?? "USER" };
  return { kind: "none" };
}

/**
 * The sentence that ends a root field's description, made from the rule applyAccessRules enforces, so
 * what Sandbox and generated clients say about access can never disagree with what the server does.
 */
export function accessSentence(rule: AccessRule): string {
  switch (rule.kind) {
    case "public":
      return "Access: any caller, with or without a token.";
    case "auth":
      return rule.requires === "ADMIN"
        ? "Access: admins only (UNAUTHENTICATED without a valid access token, FORBIDDEN for a USER)."
        : "Access: an authenticated user (UNAUTHENTICATED without a valid access token).";
    case "none":
      return "Access: nobody. This field has no access rule, so every call is FORBIDDEN.";
  }
}

const ROOT_DESCRIPTIONS: Record<string, string> = {
  Query: "What a caller can read. Each field's description ends with who may call it.",
  Mutation: "What a caller can change. Each field's description ends with who may call it.",
  Subscription: "What a caller can follow. Each field's description ends with who may call it.",
};

/**
 * Appends each root field's access sentence to its description, as a paragraph of its own, and
 * describes the root types themselves (type-graphql has no decorator for them).
 */
export function describeAccess(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.ROOT_OBJECT]: (type) =>
      type.description ? type : new GraphQLObjectType({ ...type.toConfig(), description: ROOT_DESCRIPTIONS[type.name] ?? null }),
    [MapperKind.ROOT_FIELD]: (field) => {
      const sentence = accessSentence(accessRuleOf(schema, field));
      const own = field.description?.trim();
      return { ...field, description: own ? `${own}\n\n${sentence}` : sentence };
    },
  });
}

/** Wraps every Query / Mutation / Subscription resolver with its rule. */
export function applyAccessRules(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (field) => {
      const rule = accessRuleOf(schema, field);
      if (rule.kind === "public") return field;
      const allowsPendingMfa = getDirective(schema, field, "allowPendingMfa")?.[0] !== undefined;
      const resolve = field.resolve ?? defaultFieldResolver;
      if (rule.kind === "none") {
        return {
          ...field,
          resolve: () => {
            throw forbidden("This operation has no access rule and is denied");
          },
        };
      }
      return {
        ...field,
        resolve: async (source, args, context: Context, info) => {
          const viewer = await context.viewer();
          if (viewer.mfaPending && !allowsPendingMfa) throw mfaRequired();
          if (rule.requires === "ADMIN") {
            if (viewer.user.role !== "ADMIN") throw forbidden("This operation requires the ADMIN role");
            // Only admin fields pay for this lookup (batched per request), never the hot path of `me`.
            if (context.deps.config.requireAdminMfa && !(await context.loaders.mfaStatus.load(viewer.user.id)).totpEnabled) {
              throw mfaEnrollmentRequired();
            }
          }
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
