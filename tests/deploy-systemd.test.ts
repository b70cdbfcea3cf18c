/*
 * The systemd units of examples/deploy (issue 13 item 14) pass `systemd-analyze verify` without a single
 * warning, and keep the settings the rolling restart relies on. verify checks the unit's syntax and that
 * ExecStart's binary exists, against this host's systemd units (--generators=no: nothing of the host's
 * generated configuration; --man=no: no man page lookups); it does not need the gatehouse user or the
 * environment file. Skipped where systemd-analyze is absent (.ci/run installs it).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "./support/database.js";
import { findExecutable } from "./support/nginx.js";

const DEPLOY = join(import.meta.dirname, "../examples/deploy");
/** src/server/main.ts: the app's whole shutdown deadline (10 s grace + 5 s). */
const APP_SHUTDOWN_DEADLINE_S = 15;

const analyze = findExecutable("systemd-analyze");

// One backend is enough: nothing here touches a database.
describe.skipIf(!analyze || backend !== "pglite")(
  `systemd units${analyze ? "" : " (skipped: systemd-analyze is not installed; .ci/run installs package systemd)"}`,
  () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "gatehouse-units-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The unit as shipped, under `name` (an instance name for the template), node's path fixed up only on a host without /usr/bin/node. */
    function place(file: string, name: string, edit: (text: string) => string = (t) => t): string {
      let text = readFileSync(join(DEPLOY, file), "utf8");
      if (!exists("/usr/bin/node")) text = text.replace("ExecStart=/usr/bin/node ", `ExecStart=${process.execPath} `);
      const path = join(dir, name);
      writeFileSync(path, edit(text));
      return path;
    }

    function verify(...paths: string[]) {
      const r = spawnSync(analyze!, ["verify", "--man=no", "--generators=no", ...paths], { encoding: "utf8", cwd: dir });
      return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
    }

    it("gatehouse.service and an instance of gatehouse@.service verify with no warning", () => {
      expect(verify(place("gatehouse.service", "gatehouse.service"), place("gatehouse@.service", "gatehouse@4001.service"))).toEqual({
        status: 0,
        output: "",
      });
    });

    it("the check sees a mistake: a misspelt key or a bad value is reported", () => {
      const typo = place("gatehouse.service", "typo.service", (t) => t.replace("KillMode=mixed", "KillMod=mixed"));
      expect(verify(typo).output).toContain("Unknown key 'KillMod'");
      const value = place("gatehouse@.service", "value@4002.service", (t) => t.replace("TimeoutStopSec=25s", "TimeoutStopSec=25q"));
      expect(verify(value).output).toContain("Failed to parse");
    });

    it.each(["gatehouse.service", "gatehouse@.service"])("%s signals node itself, waits out the app's shutdown and is hardened", (file) => {
      const text = readFileSync(join(DEPLOY, file), "utf8");
      const setting = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
      expect(setting("Type")).toEqual(["exec"]);
      expect(setting("ExecStart")).toEqual(["/usr/bin/node --max-old-space-size=512 dist/server/main.js"]);
      expect(setting("KillSignal")).toEqual(["SIGTERM"]);
      const stop = /^(\d+)s$/.exec(setting("TimeoutStopSec")[0] ?? "");
      expect(Number(stop?.[1])).toBeGreaterThan(APP_SHUTDOWN_DEADLINE_S);
      expect(setting("Restart")).toEqual(["on-failure"]);
      expect(setting("User")).toEqual(["gatehouse"]);
      expect(setting("EnvironmentFile")[0]).toBe("/etc/gatehouse/gatehouse.env");
      for (const [key, value] of [
        ["NoNewPrivileges", "yes"],
        ["ProtectSystem", "strict"],
        ["ProtectHome", "yes"],
        ["PrivateTmp", "yes"],
      ]) {
        expect(setting(key!), key).toEqual([value]);
      }
      // Nothing to write: logs go to the journal, state to PostgreSQL and Redis.
      expect(setting("ReadWritePaths")).toEqual([]);
      expect(setting("MemoryDenyWriteExecute")).toEqual([]);
    });

    function exists(path: string): boolean {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }
  },
);
