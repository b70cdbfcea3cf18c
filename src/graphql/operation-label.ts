import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { ErrorCode } from "../errors.js";

/** The label value of every operation whose first root field is not one of the schema's. */
export const OTHER_LABEL = "other";

/** How much of a client's operation name the request log keeps (API.md §5). */
export const LOGGED_OPERATION_NAME_MAX = 100;

const rootFieldsBySchema = new WeakMap<GraphQLSchema, ReadonlySet<string>>();

/** The names of every Query and Mutation field: the only values the `operation` label may take. */
export function rootFieldNames(schema: GraphQLSchema): ReadonlySet<string> {
  let names = rootFieldsBySchema.get(schema);
  if (!names) {
    names = new Set([schema.getQueryType(), schema.getMutationType()].flatMap((type) => (type ? Object.keys(type.getFields()) : [])));
    rootFieldsBySchema.set(schema, names);
  }
  return names;
}

/**
 * The metric label of an operation: the name of its first root field in document order (through
 * inline and named fragments, aliases ignored), when that is a field of the schema's root types;
 * otherwise `other` (introspection, `__typename`, parse or validation failures, unknown fields).
 * The client's operation name is never used: it is unbounded text of the client's choosing, and
 * every distinct label value is a new time series held in memory until the process exits.
 */
export function operationLabel(
  schema: GraphQLSchema,
  document: DocumentNode | undefined,
  operation: OperationDefinitionNode | undefined,
): string {
  if (!document || !operation) return OTHER_LABEL;
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const seen = new Set<string>();
  const first = (set: SelectionSetNode): string | undefined => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) return s.name.value;
      let inner: SelectionSetNode | undefined;
      if (s.kind === Kind.INLINE_FRAGMENT) inner = s.selectionSet;
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        inner = fragments.get(s.name.value);
      }
      const found = inner && first(inner);
      if (found) return found;
    }
    return undefined;
  };
  const field = first(operation.selectionSet);
  return field !== undefined && rootFieldNames(schema).has(field) ? field : OTHER_LABEL;
}

// The catalog holds Apollo's request-level codes (API.md §6) beside ours; anything else is reported as OTHER.
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** An error code as a label value: one of a fixed set, so no error can mint new series. */
export function codeLabel(code: unknown): string {
  return typeof code === "string" && KNOWN_CODES.has(code) ? code : "OTHER";
}

/** The client's operation name as the log line shows it: at most 100 characters. */
export function loggedOperationName(name: string | null | undefined): string {
  if (!name) return "anonymous";
  return name.length > LOGGED_OPERATION_NAME_MAX ? name.slice(0, LOGGED_OPERATION_NAME_MAX) : name;
}
