import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

/*
 * postgres.js keeps its pool's connections in small queues (open, busy, full). Its Queue left a spent
 * slot behind on every shift and only dropped them once the queue ran empty, and `remove` scanned from
 * slot 0: under steady load the busy queue never runs empty, so every query made the array one longer
 * and every later query scan it (CPU per query grew with uptime; memory without bound). patches/
 * fixes both (postinstall: patch-package); this pins the fixed behaviour of the file that is loaded.
 */
type Queue<T> = { readonly length: number; push(x: T): T; shift(): T; remove(x: T): T | null };

const entry = createRequire(import.meta.url).resolve("postgres"); // cjs/src/index.js
const packageRoot = join(dirname(entry), "..", "..");
const load = async (file: string) =>
  ((await import(pathToFileURL(join(packageRoot, file)).href)) as { default: <T>(initial?: T[]) => Queue<T> }).default;

const realIndexOf = Array.prototype.indexOf;
afterEach(() => {
  Array.prototype.indexOf = realIndexOf;
});

describe("postgres.js pool queue (patched)", () => {
  for (const file of ["src/queue.js", "cjs/src/queue.js"]) {
    it(`${file}: a queue that never runs empty keeps its array bounded and scans only its live part`, async () => {
      const Queue = await load(file);
      // The pool's pattern under load: take the first busy connection, give it a query, move it back
      // to busy (remove from where it was — already shifted — then push), with ten always busy.
      const busy = Queue<object>();
      const connections = Array.from({ length: 10 }, () => busy.push({}));
      let longestScan = 0;
      Array.prototype.indexOf = function (this: unknown[], ...args: Parameters<typeof realIndexOf>) {
        longestScan = Math.max(longestScan, this.length - ((args[1] as number | undefined) ?? 0));
        return realIndexOf.apply(this, args);
      };
      for (let i = 0; i < 50_000; i++) {
        const c = busy.shift();
        expect(busy.remove(c)).toBeNull();
        busy.push(c);
      }
      Array.prototype.indexOf = realIndexOf;
      expect(busy.length).toBe(10);
      // Unpatched, the 50,000th remove scanned about 50,000 slots.
      expect(longestScan).toBeLessThanOrEqual(11);
      // Still a queue: first in, first out, and remove takes a live entry out.
      expect(busy.remove(connections[3]!)).toBe(connections[3]);
      expect(busy.length).toBe(9);
      const order = Array.from({ length: 9 }, () => busy.shift());
      expect(new Set(order).size).toBe(9);
      expect(order).not.toContain(connections[3]);
      expect(busy.length).toBe(0);
    });
  }
});
