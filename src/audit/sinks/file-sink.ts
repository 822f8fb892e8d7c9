import { mkdir, open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { AuditEvent } from "../event.js";
import type { AuditSink } from "../sink.js";

export interface FileAuditSinkOptions {
  /** The log file; relative paths are resolved against the working directory at creation. */
  readonly path: string;
  /** fsync the file after each batch, so a stored batch survives a power loss (slower). */
  readonly fsync?: boolean;
}

export interface FileAuditSink extends AuditSink {
  readonly name: "file";
  /** The absolute path written to. */
  readonly path: string;
  /**
   * Closes the open file so that the next write opens `path` again (creating it). After
   * `logrotate` moves the file, call it from your own SIGHUP handler:
   * `process.on("SIGHUP", () => void sink.reopen())`. Without it the sink keeps writing to
   * the moved (or deleted) file through the handle it has open.
   */
  reopen(): Promise<void>;
}

/**
 * Appends audit events to a file as JSON lines: one event per line, each line ending in
 * `\n`. The file is opened on the first write (not at creation), in append mode, created
 * with mode 0600 (existing files keep their mode) and its directory with 0700 if missing.
 *
 * Delivery is at least once. A failed write rejects, and the auditor retries the whole
 * batch; when the failure came after part of the batch was written, those events appear
 * twice, and the line cut by the failure is left torn. The retry starts on a new line, so
 * the torn line is the only damage: readers should skip lines that do not parse and drop
 * duplicates by `requestId`.
 */
export function fileAuditSink(options: FileAuditSinkOptions): FileAuditSink {
  if (typeof options !== "object" || options === null)
    throw new TypeError("fileAuditSink expects an options object.");
  if (typeof options.path !== "string" || options.path === "")
    throw new TypeError("fileAuditSink: path must be a non-empty string.");
  const file = path.resolve(options.path);
  const fsync = options.fsync === true;

  let handle: FileHandle | undefined;
  let closed = false;
  // Set when a write stopped in the middle of a line: the next write starts a new line.
  let torn = false;
  // Writes, reopen and close run one after another, even if a caller overlaps them.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  const fail = (action: string, error: unknown): Error =>
    new Error(`file audit sink: cannot ${action} ${file}: ${(error as Error).message}`, {
      cause: error,
    });

  async function discard(): Promise<void> {
    const current = handle;
    handle = undefined;
    await current?.close().catch(() => undefined);
  }

  async function ensureOpen(): Promise<FileHandle> {
    if (handle) return handle;
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      handle = await open(file, "a", 0o600);
    } catch (error) {
      throw fail("open", error);
    }
    return handle;
  }

  async function append(events: readonly AuditEvent[]): Promise<void> {
    if (closed) throw new Error(`file audit sink: ${file} is closed.`);
    if (events.length === 0) return;
    const text = (torn ? "\n" : "") + events.map(serializeAuditEvent).join("\n") + "\n";
    const data = Buffer.from(text, "utf8");
    const target = await ensureOpen();
    let written = 0;
    try {
      while (written < data.length) {
        const { bytesWritten } = await target.write(data, written, data.length - written);
        written += bytesWritten;
      }
      // Written in full: any torn line from an earlier failure now ends with our "\n".
      torn = false;
      if (fsync) await target.sync();
    } catch (error) {
      if (written > 0 && written < data.length) torn = true;
      // A handle that failed (ENOSPC, EIO, a vanished mount) is not trusted again: the
      // next attempt opens the file afresh.
      await discard();
      throw fail(written < data.length ? "write to" : "fsync", error);
    }
  }

  return {
    name: "file",
    path: file,
    write: (events) => serial(() => append(events)),
    reopen: () => serial(discard),
    close: () =>
      serial(async () => {
        closed = true;
        const current = handle;
        handle = undefined;
        await current?.close();
      }),
  };
}

/**
 * One event as one line. JSON.stringify escapes every control character, so the line has
 * no `\n` inside. An event that cannot be serialized (e.g. a bigint in arguments that were
 * not redacted) is still logged, first without its arguments, at worst as its identity
 * only: a batch that failed the same way on every retry would block the log forever.
 */
export function serializeAuditEvent(event: AuditEvent): string {
  try {
    return JSON.stringify(event);
  } catch {
    try {
      return JSON.stringify({ ...event, arguments: "[Unserializable]" });
    } catch {
      return JSON.stringify({
        time: String(event.time),
        requestId: String(event.requestId),
        tool: event.tool === null ? null : String(event.tool),
        unserializable: true,
      });
    }
  }
}
