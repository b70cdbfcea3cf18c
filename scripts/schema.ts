/**
 * npm run schema:emit  writes schema.graphql from the code.
 * npm run schema:check fails when the committed schema.graphql differs from the code.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildGatehouseSchema, printGatehouseSchema } from "../src/graphql/schema.js";

const file = fileURLToPath(new URL("../schema.graphql", import.meta.url));
const sdl = printGatehouseSchema(await buildGatehouseSchema());

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(file, "utf8");
  } catch {
    // missing counts as drift
  }
  if (committed !== sdl) {
    console.error("schema.graphql is out of date with the code: run `npm run schema:emit` and commit the result.");
    process.exit(1);
  }
  console.log("schema.graphql matches the code.");
} else {
  writeFileSync(file, sdl);
  console.log(`wrote ${file}`);
}
