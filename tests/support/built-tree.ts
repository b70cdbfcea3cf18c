import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");

/**
 * A throwaway package tree with its own build (the repository's package.json, drizzle/ and node_modules,
 * dist/ compiled from the sources into it), so a test runs the built server as production does without
 * touching the repository's dist/. Call `remove()` when done.
 */
export function buildTree(prefix = "gatehouse-built-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    copyFileSync(join(root, "package.json"), join(dir, "package.json"));
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    symlinkSync(join(root, "drizzle"), join(dir, "drizzle"));
    execFileSync(
      join(root, "node_modules/.bin/tsc"),
      ["-p", join(root, "tsconfig.build.json"), "--outDir", join(dir, "dist"), "--tsBuildInfoFile", join(dir, "dist/.tsbuildinfo")],
      { stdio: "pipe" },
    );
  } catch (err) {
    // A failed build leaves nothing behind; the compiler's own output says why it failed.
    remove();
    const output = (err as { stdout?: Buffer }).stdout?.toString() ?? "";
    throw new Error(`the build failed:\n${output}`, { cause: err });
  }
  return { dir, remove };
}
