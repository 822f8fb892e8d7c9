import { pino } from "pino";
import type { AuditEvent } from "../event.js";
import type { AuditSink } from "../sink.js";
import { REDACTION_LIMITS } from "../redact.js";

export interface StdoutAuditSinkOptions {
  /** Where the lines go instead of stdout (fd 1), e.g. a file stream or a test's PassThrough. */
  readonly destination?: NodeJS.WritableStream;
}

export interface StdoutAuditSink extends AuditSink {
  readonly name: "stdout";
  /** True when writing to this process's stdout: never while serving MCP over stdio. */
  readonly writesToStdout: boolean;
}

/**
 * Audit events as pino JSON lines on stdout, for container platforms that collect
 * stdout: one object per line, `{"level":30,"audit":true,...event fields,"msg":"tool call"}`
 * (`msg` is "request refused" for HTTP refusals, whose `tool` is null). No pid, hostname or
 * pino time: the event's own `time` is there.
 *
 * MUST NOT be used when serving MCP over stdio: there stdout carries the protocol and one
 * audit line corrupts it. The sink says so with `writesToStdout: true`, and the server
 * refuses that combination. With a `destination` other than `process.stdout`,
 * `writesToStdout` is false.
 *
 * `write` resolves once the batch's lines were handed to the destination (its write
 * callback ran: for stdout, given to the operating system or queued by Node in order).
 * After the destination emits an error, every later `write` rejects with it: a broken
 * stdout (EPIPE) does not heal.
 */
export function stdoutAuditSink(options: StdoutAuditSinkOptions = {}): StdoutAuditSink {
  const destination = options.destination ?? process.stdout;
  if (typeof destination?.write !== "function") {
    throw new TypeError("stdoutAuditSink: destination must be a writable stream.");
  }

  // pino formats; the lines of a batch are collected and written with one call, so the
  // batch can be awaited (pino's own destinations have no per-write completion callback).
  let lines: string[] = [];
  const logger = pino(
    {
      base: null,
      timestamp: false,
      level: "info",
      // pino only applies these limits when plain JSON.stringify fails (cycles); set them
      // past the redactor's bounds so they never cut a redacted argument short.
      depthLimit: REDACTION_LIMITS.maxDepth + 8,
      edgeLimit: Math.max(REDACTION_LIMITS.maxObjectKeys, REDACTION_LIMITS.maxArrayItems) + 8,
    },
    { write: (line: string) => void lines.push(line) },
  );

  let failure: Error | undefined;
  let closed = false;
  const onError = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };
  // Also keeps an 'error' without listeners from crashing the process.
  destination.on("error", onError);

  return {
    name: "stdout",
    writesToStdout: destination === process.stdout,
    write(events) {
      if (closed) return Promise.reject(new Error("stdout audit sink is closed."));
      if (failure) return Promise.reject(failed(failure));
      if (events.length === 0) return Promise.resolve();
      for (const event of events) log(event);
      const chunk = lines.join("");
      lines = [];
      return new Promise<void>((resolve, reject) => {
        try {
          destination.write(chunk, (error?: Error | null) => {
            if (error) {
              onError(error);
              reject(failed(error));
            } else if (failure) reject(failed(failure));
            else resolve();
          });
        } catch (error) {
          onError(error);
          reject(failed(failure!));
        }
      });
    },
    close() {
      // The destination is not ended: stdout belongs to the process, a given stream to
      // its owner. Every write has been awaited, so nothing is pending here.
      closed = true;
      return Promise.resolve();
    },
  };

  function log(event: AuditEvent): void {
    const message = event.tool === null ? "request refused" : "tool call";
    try {
      logger.info({ audit: true, ...event }, message);
    } catch {
      logger.info({ audit: true, ...event, arguments: "[Unserializable]" }, message);
    }
  }
}

function failed(error: Error): Error {
  return new Error(`stdout audit sink: the destination failed: ${error.message}`, {
    cause: error,
  });
}
