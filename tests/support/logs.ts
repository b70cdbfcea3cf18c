import { Writable } from "node:stream";
import pino, { type Level, type Logger } from "pino";

/** A pino logger whose JSON lines the test can read (and search for secrets). */
export function captureLogs(level: Level = "info"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
