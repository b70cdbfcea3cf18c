/* .env.example stays a complete, inert reference: every variable config.ts reads, nothing set. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIMIT_NAMES, limitEnvName } from "../src/limits.js";

const root = join(import.meta.dirname, "..");
const example = readFileSync(join(root, ".env.example"), "utf8");
// The zod schema's keys: the variables loadConfig reads by name (two-space indented `NAME:` lines).
const schemaVariables = [...readFileSync(join(root, "src/config.ts"), "utf8").matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
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
