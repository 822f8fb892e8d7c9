import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../../src/server/index.js";

/** A real pino logger whose JSON lines are kept in memory, so tests can assert what was logged. */
export function memoryLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = pino({ level: "debug" }, stream);
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines };
}
