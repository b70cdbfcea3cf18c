import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, type ASTVisitor, type SelectionSetNode, type ValidationContext, type ValidationRule } from "graphql";

/** Limits on the shape of an operation (what graphql-cop probes). Real clients stay far below them. */
export const QUERY_LIMITS = {
  maxDepth: 12,
  maxAliases: 10,
  maxRootFields: 10,
  maxDirectives: 20,
  maxTokens: 2000,
  // A full page of 100 users with every field and stats costs about 8,000.
  maxCost: 15000,
} as const;

/**
 * At most `max` root fields per operation, counted through fragments: ten `login` calls cost ten
 * rate-limit slots anyway, but hundreds of root fields in one document are never a real client.
 */
export function maxRootFieldsRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const countRoot = (set: SelectionSetNode, seen: Set<string>): number =>
      set.selections.reduce((n, s) => {
        if (s.kind === Kind.FIELD) return n + 1;
        if (s.kind === Kind.INLINE_FRAGMENT) return n + countRoot(s.selectionSet, seen);
        if (seen.has(s.name.value)) return n;
        seen.add(s.name.value);
        const fragment = context.getFragment(s.name.value);
        return fragment ? n + countRoot(fragment.selectionSet, seen) : n;
      }, 0);
    return {
      OperationDefinition(node) {
        const count = countRoot(node.selectionSet, new Set());
        if (count > max) {
          context.reportError(new GraphQLError(`Too many root fields: ${count} (at most ${max} per operation)`, { nodes: [node] }));
        }
      },
    };
  };
}

/**
 * graphql-armor's depth, alias, directive, token and cost limits, plus the root-field limit. Field
 * suggestions are removed in production only (Apollo's hideSchemaDetailsFromClientErrors for
 * validation messages, formatError for the rest); in development they help whoever explores the API.
 */
export function hardening(): { plugins: ApolloServerPlugin[]; validationRules: ValidationRule[] } {
  const armor = new ApolloArmor({
    maxDepth: { n: QUERY_LIMITS.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: QUERY_LIMITS.maxAliases },
    maxDirectives: { n: QUERY_LIMITS.maxDirectives },
    // Tokens are limited by graphql-js's parser instead (Apollo parseOptions.maxTokens): armor's
    // version throws from a request hook, which Apollo answers with a 500.
    maxTokens: { enabled: false },
    costLimit: { maxCost: QUERY_LIMITS.maxCost, ignoreIntrospection: true },
    // Off: its mask leaves "[Suggestion hidden]?" in variable errors. Apollo's
    // hideSchemaDetailsFromClientErrors and formatError's withoutSuggestions remove them whole.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    plugins: armor.plugins as ApolloServerPlugin[],
    validationRules: [...armor.validationRules, maxRootFieldsRule(QUERY_LIMITS.maxRootFields)],
  };
}
