import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed document nodes for the operations in operations.graphql, from the committed schema.
const config: CodegenConfig = {
  schema: "schema.graphql",
  // ESM with NodeNext resolution: relative imports need their .js extension.
  emitLegacyCommonJSImports: false,
  documents: ["examples/client/operations.graphql", "examples/client/mfa.graphql"],
  generates: {
    "examples/client/gql/": {
      preset: "client",
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTimeISO: "string", JSONObject: "Record<string, unknown>" } },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
