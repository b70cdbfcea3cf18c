import { readFile } from "node:fs/promises";
import { isScalarType, specifiedScalarTypes } from "graphql";
import { describe, expect, it } from "vitest";
import codegen from "../examples/client/codegen.js";
import { buildGatehouseSchema } from "../src/graphql/schema.js";

/*
 * Codegen without friction (issue 13 item 8): every custom scalar of the schema has a TypeScript
 * mapping in the example's codegen config (without one codegen types it `any`), and the README's
 * typed-client section shows the same mappings and ESM import setting the example uses.
 */

const readme = (): Promise<string> => readFile(new URL("../README.md", import.meta.url), "utf8");
const outputConfig = (): Record<string, unknown> => {
  const target = (codegen.generates as Record<string, { config?: Record<string, unknown> }>)["examples/client/gql/"];
  return target?.config ?? {};
};

describe("the typed client's codegen config", () => {
  it("maps every custom scalar of the schema to a TypeScript type", async () => {
    const schema = await buildGatehouseSchema();
    const builtIn = new Set(specifiedScalarTypes.map((s) => s.name));
    const custom = Object.values(schema.getTypeMap())
      .filter((type) => isScalarType(type) && !builtIn.has(type.name))
      .map((type) => type.name)
      .sort();
    expect(custom).toEqual(["DateTimeISO", "JSONObject"]);
    expect(outputConfig()["scalars"]).toEqual({ DateTimeISO: "string", JSONObject: "Record<string, unknown>" });
  });

  it("emits ESM imports with their .js extension, and the generated types hold no any", async () => {
    expect(codegen.emitLegacyCommonJSImports).toBe(false);
    const index = await readFile(new URL("../examples/client/gql/index.ts", import.meta.url), "utf8");
    expect(index).toContain('from "./gql.js"');
    const types = await readFile(new URL("../examples/client/gql/graphql.ts", import.meta.url), "utf8");
    expect(types).not.toMatch(/:\s*any\b/);
  });

  it("is what the README's typed-client section shows", async () => {
    const text = await readme();
    const section = text.slice(text.indexOf("## Typed client"), text.indexOf("\n## ", text.indexOf("## Typed client") + 1));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(snippet).toContain("emitLegacyCommonJSImports: false");
    const scalars = outputConfig()["scalars"] as Record<string, string>;
    const shown = Object.entries(scalars)
      .map(([name, type]) => `${name}: "${type}"`)
      .join(", ");
    expect(snippet).toContain(`scalars: { ${shown} }`);
    // The README's snippet is the example's config, line for line.
    const example = await readFile(new URL("../examples/client/codegen.ts", import.meta.url), "utf8");
    for (const line of snippet.trim().split("\n")) expect(example).toContain(line);
  });
});
