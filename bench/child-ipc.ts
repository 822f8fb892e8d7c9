// The protocol between a benchmark (or a reliability suite) and a server it runs as a
// child process: the child prints one line `{"url": ...}` once listening, answers every
// IPC message `{ id, ... }` with a message carrying the same id, and stops when its stdin
// closes, the IPC channel goes away (the parent ended or died), or on SIGINT/SIGTERM.
// Used by bench/perf-server.ts and bench/performance.ts, and by test/reliability.
import type { ChildProcess } from "node:child_process";

/** The child's side: see the file comment. `answer` builds the reply to one request. */
export function serveChild<Request extends { id: number }>(
  server: { url: string; close(): Promise<void> },
  answer: (request: Request) => { id: number },
): void {
  let closing: Promise<void> | undefined;
  const stop = (code: number) =>
    (closing ??= server
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(code)));
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  // The parent holds our stdin and the IPC channel open; both close when it exits.
  process.stdin.on("end", () => void stop(0));
  process.stdin.on("error", () => void stop(0));
  process.stdin.resume();
  process.on("disconnect", () => void stop(0));
  process.on("message", (request: Request) => process.send?.(answer(request)));
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

/**
 * The parent's side: `ask(fields)` sends `{ id, ...fields }` to `proc` and resolves with
 * the reply of that id, or undefined if the child is gone or does not answer in
 * `timeoutMs`.
 */
export function childRequests<Reply extends { id: number }>(
  proc: ChildProcess,
  timeoutMs: number,
): (fields: Record<string, unknown>) => Promise<Reply | undefined> {
  const pending = new Map<number, (reply: Reply | undefined) => void>();
  let nextId = 0;
  proc.on("message", (reply: Reply) => {
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  proc.once("exit", () => {
    for (const resolve of pending.values()) resolve(undefined);
    pending.clear();
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return (fields) =>
    new Promise((resolve) => {
      if (!alive() || !proc.connected) return resolve(undefined);
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      proc.send({ ...fields, id });
    });
}
