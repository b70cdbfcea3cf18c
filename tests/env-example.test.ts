/* .env.example stays a complete, inert reference: every variable loadConfig reads, nothing set. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/env-schema.js";
import { LIMIT_NAMES, limitEnvName } from "../src/limits.js";

const root = join(import.meta.dirname, "..");
const example = readFileSync(join(root, ".env.example"), "utf8");
// The zod schema's keys: the variables loadConfig reads by name.
const schemaVariables = Object.keys(envSchema.shape);
const listed = new Set([...example.matchAll(/^# ([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));

describe(".env.example", () => {
  it("lists every variable config.ts reads, and every rate-limit override", () => {
    expect(schemaVariables.length).toBeGreaterThan(30);
    const missing = [...schemaVariables, ...LIMIT_NAMES.map(limitEnvName)].filter((v) => !listed.has(v));
    expect(missing).toEqual([]);
  });

  it("sets nothing: every line is a comment or blank", () => {
    const live = example.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(live).toEqual([]);
  });
});
