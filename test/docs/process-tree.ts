// A process and its descendants, read from /proc (Linux), so a test can tell that every
// process a command started is gone, not only the one it spawned.
// It parses /proc itself rather than reusing the demo's parent watch: the test checks that
// code, so it does not share its reading of the process table.
import { readFileSync, readdirSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  /**
   * The kernel's name for it, 15 characters at most: "npm start --por", "sh"; a node process
   * is "node" on Node 20 and "MainThread" on Node 24 (which names its main thread).
   */
  comm: string;
  /** Its command line as the kernel shows it (a process may rewrite it: npm's title). */
  argv: string[];
  /** R, S, Z (zombie: exited, not yet reaped), ... */
  state: string;
  /** Clock ticks since boot: tells the process from a later one that reuses its pid. */
  startTime: string;
}

export function readProc(pid: number): Proc | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  return {
    pid,
    comm: text.slice(text.indexOf("(") + 1, close),
    argv: readArgv(pid),
    state: fields[0] ?? "",
    ppid: Number(fields[1]),
    startTime: fields[19] ?? "",
  };
}

function readArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** `root` and every process below it. */
export function processTree(root: number): Proc[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p): p is Proc => p !== undefined);
  const tree: Proc[] = [];
  const add = (pid: number): void => {
    const proc = all.find((p) => p.pid === pid);
    if (!proc) return;
    tree.push(proc);
    for (const child of all.filter((p) => p.ppid === pid)) add(child.pid);
  };
  add(root);
  return tree;
}

/** Still running: the same process (pid and start time) and not a zombie. */
export function isRunning(proc: Proc): boolean {
  const now = readProc(proc.pid);
  return now !== undefined && now.startTime === proc.startTime && now.state !== "Z";
}

/** Waits until none of `procs` runs; resolves with those still running after `timeoutMs`. */
export async function waitAllGone(procs: readonly Proc[], timeoutMs: number): Promise<Proc[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = procs.filter(isRunning);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGKILLs whatever of `procs` still runs (cleanup after a failed test). */
export function killAll(procs: readonly Proc[]): void {
  for (const proc of procs.filter(isRunning)) {
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
