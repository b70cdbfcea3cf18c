import { readFileSync } from "node:fs";
import {
  buildSchema as buildSdlSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
  type GraphQLSchema,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessRuleOf } from "../src/graphql/access.js";
import { buildGatehouseSchema } from "../src/graphql/schema.js";
import { startTestServer, type TestServer } from "./support/server.js";

/*
 * API.md §6: every type, field, argument, enum value and directive of the schema has a description, and a
 * root field's description says who may call it. graphql-js's own scalars, directives and introspection
 * types are not ours and are skipped; every other scalar (DateTimeISO, JSONObject) is checked.
 */

interface Walk {
  checked: number;
  missing: string[];
}

/** Every element of the schema that needs a description, and the ones without one (empty or blank). */
function undocumented(schema: GraphQLSchema): Walk {
  const walk: Walk = { checked: 0, missing: [] };
  const check = (element: string, description: string | null | undefined) => {
    walk.checked += 1;
    if (!description?.trim()) walk.missing.push(element);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name})`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    check(`@${directive.name}`, directive.description);
    for (const arg of directive.args) check(`@${directive.name}(${arg.name})`, arg.description);
  }
  return walk;
}

/** What each rule's sentence must say; written here, not imported, so a wrong sentence in the code fails. */
const EXPECTED_ACCESS = {
  public: /^Access: any caller\b/,
  USER: /^Access: an authenticated user\b/,
  ADMIN: /^Access: admins only\b/,
} as const;

/** Root fields whose description does not end with the access sentence of their directive. */
function wrongAccess(schema: GraphQLSchema): string[] {
  const wrong: string[] = [];
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.toConfig().fields)) {
      const name = `${root.name}.${field.astNode?.name.value}`;
      const rule = accessRuleOf(schema, field);
      const description = field.description ?? "";
      const paragraphs = description.split("\n\n");
      const last = paragraphs.at(-1) ?? "";
      const expected = rule.kind === "none" ? null : EXPECTED_ACCESS[rule.kind === "public" ? "public" : rule.requires];
      // One access sentence, the last paragraph, after a description of the field's own.
      const ok =
        expected !== null &&
        expected.test(last) &&
        description.split("Access:").length === 2 &&
        paragraphs.slice(0, -1).join("\n\n").trim().length > 0;
      if (!ok) wrong.push(`${name}: ${JSON.stringify(description)}`);
    }
  }
  return wrong;
}

describe("schema descriptions", () => {
  it("the walker finds every kind of element that lacks a description", () => {
    const schema = buildSdlSchema(`
      "Documented." directive @documented("Documented." level: Int) on FIELD_DEFINITION
      directive @bare(level: Int) on FIELD_DEFINITION
      "Documented." scalar Documented
      scalar Bare
      "Documented." enum Mood { "Documented." HAPPY SAD }
      input Filter { "Documented." q: String, blank: String }
      interface Node { id: ID! }
      "Documented."
      type Query {
        "Documented." ok("Documented." a: Int): Mood
        undocumented(b: Int): Bare
        """   """ blankOne: Documented
        node: Node
        filtered(filter: Filter): Int
      }
    `);
    expect(undocumented(schema).missing.sort()).toEqual(
      [
        "@bare",
        "@bare(level)",
        "Bare",
        "Filter",
        "Filter.blank",
        "Mood.SAD",
        "Node",
        "Node.id",
        "Query.blankOne",
        "Query.filtered",
        "Query.filtered(filter)",
        "Query.node",
        "Query.undocumented",
        "Query.undocumented(b)",
      ].sort(),
    );
  });

  it("the access check refuses a missing, wrong, duplicated or lone access sentence", () => {
    const schema = buildSdlSchema(`
      directive @auth(requires: Role = USER) on FIELD_DEFINITION
      directive @public on FIELD_DEFINITION
      enum Role { USER ADMIN }
      type Query {
        "Lists things.\\n\\nAccess: admins only (FORBIDDEN for a USER)." good: Int @auth(requires: ADMIN)
        "Lists things." missing: Int @auth
        "Lists things.\\n\\nAccess: any caller." wrongRule: Int @auth(requires: ADMIN)
        "Access: admins only.\\n\\nAccess: admins only." twice: Int @auth(requires: ADMIN)
        "Access: any caller." alone: Int @public
        "Lists things.\\n\\nAccess: an authenticated user." noRule: Int
      }
    `);
    const names = wrongAccess(schema).map((entry) => entry.split(":")[0]);
    expect(names).toEqual(["Query.missing", "Query.wrongRule", "Query.twice", "Query.alone", "Query.noRule"]);
  });

  it("documents every type, field, argument, enum value, directive and scalar of the Gatehouse schema", async () => {
    const walk = undocumented(await buildGatehouseSchema());
    expect(walk.checked).toBeGreaterThan(200);
    expect(walk.missing).toEqual([]);
  });

  it("keeps every description in the committed schema.graphql, which codegen and other tools read", () => {
    const committed = buildSdlSchema(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));
    const walk = undocumented(committed);
    expect(walk.checked).toBeGreaterThan(200);
    expect(walk.missing).toEqual([]);
  });

  it("ends each root field's description with the access its directive enforces", async () => {
    expect(wrongAccess(await buildGatehouseSchema())).toEqual([]);
  });
});

describe("schema descriptions over HTTP", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("reach a client through introspection, as Sandbox and codegen read them", async () => {
    const res = await t.gql<{
      mutation: { fields: Array<{ name: string; description: string; args: Array<{ name: string; description: string }> }> };
      role: { enumValues: Array<{ name: string; description: string }> };
    }>(`{
      mutation: __type(name: "Mutation") { fields { name description args { name description } } }
      role: __type(name: "Role") { enumValues { name description } }
    }`);
    expect(res.body.errors).toBeUndefined();
    const fields = new Map(res.body.data!.mutation.fields.map((f) => [f.name, f]));
    expect(fields.get("login")?.description).toMatch(/\n\nAccess: any caller\b/);
    expect(fields.get("logoutAll")?.description).toMatch(/\n\nAccess: an authenticated user\b/);
    expect(fields.get("bulkUsers")?.description).toMatch(/\n\nAccess: admins only\b/);
    expect(fields.get("deactivateMe")?.args.find((a) => a.name === "confirm")?.description).toMatch(/\S/);
    for (const value of res.body.data!.role.enumValues) expect(value.description, value.name).toMatch(/\S/);
  });
});
