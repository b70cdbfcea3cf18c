// ESLint flat config: typescript-eslint's recommended rules, readable lines, and the one-way
// dependency rule of the layout (server -> graphql -> features -> kernel).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

const FEATURES = ["auth", "me", "admin", "email", "users", "rate-limit", "audit", "observability"];

export default defineConfig(
  { ignores: ["dist/", "coverage/", ".data/", "examples/client/gql/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      "max-len": ["error", { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    // A feature's services, repositories and views never reach up into the HTTP server or the GraphQL
    // layer; only its GraphQL face (resolvers and GraphQL types) uses graphql/'s decorators and context.
    files: FEATURES.map((f) => `src/${f}/**/*.ts`),
    ignores: ["**/*.resolver.ts", "**/*.types.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/server/*", "**/graphql/*"],
              message: "Features do not import server/ or graphql/ (only *.resolver.ts and *.types.ts may use graphql/).",
            },
          ],
        },
      ],
    },
  },
  {
    // The kernel (config, errors, deps, db, lib) depends on nothing above it.
    files: ["src/*.ts", "src/db/**/*.ts", "src/lib/**/*.ts"],
    ignores: ["src/cli.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [...FEATURES, "server", "graphql"].flatMap((f) => [`./${f}/*`, `../${f}/*`]),
              message: "The kernel imports no feature, graphql/ or server/ module.",
            },
          ],
        },
      ],
    },
  },
);
