import { readFileSync } from "node:fs";
import { GraphQLEnumType, GraphQLSchema, buildSchema as buildSdlSchema, graphql, isObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { accessDirectives, accessRuleOf, applyAccessRules } from "../src/graphql/access.js";
import { buildGatehouseSchema, printGatehouseSchema } from "../src/graphql/schema.js";

describe("schema", () => {
  it("gives every Query and Mutation field exactly one of @auth or @public (deny by default)", async () => {
    const schema = await buildGatehouseSchema();
    const missing: string[] = [];
    let checked = 0;
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      if (!root || !isObjectType(root)) continue;
      for (const field of Object.values(root.toConfig().fields)) {
        checked += 1;
        if (accessRuleOf(schema, field).kind === "none") missing.push(`${root.name}.${field.astNode?.name.value}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it("shows each rule in the emitted SDL", async () => {
    const sdl = printGatehouseSchema(await buildGatehouseSchema());
    // Arguments may carry a """description""" before them (API.md §6), which splits the line.
    expect(sdl).toMatch(/directive @auth\(\s*(?:"""[^]*?"""\s*)?requires: Role = USER\s*\) on FIELD_DEFINITION/);
    expect(sdl).toContain("directive @public on FIELD_DEFINITION");
    expect(sdl).toMatch(/login\(\s*(?:"""[^]*?"""\s*)?input: LoginInput!\s*\): AuthPayload! @public/);
    expect(sdl).toMatch(/me: User! @auth/);
  });

  it("matches the committed schema.graphql (run `npm run schema:emit` after changing the API)", async () => {
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(printGatehouseSchema(await buildGatehouseSchema())).toBe(committed);
  });

  it("refuses at run time a root field that has no rule, and enforces the roles", async () => {
    const base = buildSdlSchema(
      `enum Role { USER ADMIN }
       type Query { open: String @public, bare: String, adminOnly: String @auth(requires: ADMIN) }`,
      { assumeValidSDL: true },
    );
    const role = base.getType("Role");
    if (!(role instanceof GraphQLEnumType)) throw new Error("no Role enum");
    // Add the directive definitions, as buildGatehouseSchema does.
    const schema = applyAccessRules(
      new GraphQLSchema({ ...base.toConfig(), directives: [...base.getDirectives(), ...accessDirectives(role)] }),
    );
    const rootValue = { open: "yes", bare: "leaked", adminOnly: "secret" };
    const asUser = { viewer: async () => ({ user: { role: "USER" }, sessionId: "s" }) };
    const result = await graphql({ schema, source: "{ open bare adminOnly }", rootValue, contextValue: asUser });
    expect(result.data).toEqual({ open: "yes", bare: null, adminOnly: null });
    const codes = Object.fromEntries((result.errors ?? []).map((e) => [e.path?.[0], e.extensions["code"]]));
    expect(codes).toEqual({ bare: "FORBIDDEN", adminOnly: "FORBIDDEN" });
  });
});
