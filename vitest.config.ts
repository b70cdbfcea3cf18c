import { defineConfig } from "vitest/config";

/*
 * The suite runs on PGlite (embedded, always) and again on PostgreSQL when TEST_DATABASE_URL is set.
 * Each test file gets its own fresh database: a PGlite instance in memory, or a new PostgreSQL database.
 */
const backends = ["pglite", ...(process.env.TEST_DATABASE_URL ? ["postgres"] : [])];

export default defineConfig({
  resolve: {
    // graphql ships CJS and ESM; vite would load the ESM copy for our code and type-graphql loads the
    // CJS one, and two copies refuse each other's types ("from another module or realm").
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    projects: backends.map((backend) => ({
      extends: true,
      test: {
        name: backend,
        env: { GATEHOUSE_TEST_BACKEND: backend },
      },
    })),
    include: ["tests/**/*.test.ts"],
    environment: "node",
    // type-graphql decorators need the metadata API before any type module loads.
    setupFiles: ["reflect-metadata"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
