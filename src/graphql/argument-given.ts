import { Kind, type GraphQLResolveInfo } from "graphql";

/**
 * Whether the client wrote the argument itself, as opposed to graphql-js filling in its schema default:
 * written as a literal, or as a variable that the request supplied. Lets a field keep a documented default
 * (`first: Int = 20`) while still telling "first 20 because I asked" from "first 20 because I asked for
 * something else" (`last`).
 */
export function argumentGiven(info: GraphQLResolveInfo, name: string): boolean {
  const node = info.fieldNodes[0]?.arguments?.find((a) => a.name.value === name);
  if (!node) return false;
  if (node.value.kind !== Kind.VARIABLE) return true;
  return Object.prototype.hasOwnProperty.call(info.variableValues, node.value.name.value);
}
