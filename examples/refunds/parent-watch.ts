// The demo exits with whatever started it. `npm start` runs `sh -c "node ..."`, and neither
// link passes an ending on: npm forwards SIGTERM to its child, the `sh`, which dies
// without forwarding it, and a SIGKILL of npm forwards nothing. The server would then
// keep the port (and the SQLite files) after its terminal, test or agent is gone. So the
// demo polls the processes above it and stops itself, gracefully, when one goes away.
//
// It lives with the demo, not in the library: a server embedded in an application is run
// by a process manager that owns its lifetime, and a library should not second-guess its
// host's process tree. A dev runner started through npm is where the gap is.
import { readFileSync } from "node:fs";

/** Shells that run a command as a child (npm's `sh -c`, a wrapper script): watch above them too. */
const SHELLS = new Set(["sh", "dash", "bash", "zsh", "ash"]);

export interface ParentWatch {
  /** The process ids watched: the parent, and the grandparent when the parent is a shell. */
  readonly pids: readonly number[];
  stop(): void;
}

interface Watched {
  pid: number;
  /** Linux start time (clock ticks since boot), to tell a reused pid from the original. */
  startTime: string | undefined;
}

/**
 * Calls `onGone` once when the parent (or, if the parent is a shell, the grandparent)
 * exits. Polls every `intervalMs` on an unref'd timer, so it never keeps the process alive.
 */
export function watchParent(
  onGone: (pid: number) => void,
  { intervalMs = 1_000 }: { intervalMs?: number } = {},
): ParentWatch {
  const parent = process.ppid;
  const watched: Watched[] = [];
  // pid 0 (no parent visible) and 1 (init: already orphaned, or a container's entry point)
  // never "go away" in a way this could act on.
  if (parent > 1) {
    watched.push({ pid: parent, startTime: procStat(parent)?.startTime });
    const parentStat = procStat(parent);
    if (parentStat && SHELLS.has(parentStat.comm) && parentStat.ppid > 1) {
      watched.push({ pid: parentStat.ppid, startTime: procStat(parentStat.ppid)?.startTime });
    }
  }
  let timer: NodeJS.Timeout | undefined;
  if (watched.length > 0) {
    timer = setInterval(() => {
      // Our own parent changing means it died and we were re-parented (to init or a subreaper).
      const gone = process.ppid !== parent ? parent : watched.find((w) => !alive(w))?.pid;
      if (gone === undefined) return;
      clearInterval(timer);
      onGone(gone);
    }, intervalMs);
    timer.unref();
  }
  return { pids: watched.map((w) => w.pid), stop: () => clearInterval(timer) };
}

function alive({ pid, startTime }: Watched): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
  } catch (error) {
    // EPERM: it exists but belongs to another user, which still counts as alive.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0.
  const stat = procStat(pid);
  if (stat?.state === "Z") return false;
  // The pid was reused by another process: the one we watched is gone.
  return startTime === undefined || stat === undefined || stat.startTime === startTime;
}

interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  startTime: string;
}

/** Fields of /proc/<pid>/stat (Linux only; undefined elsewhere or when it cannot be read). */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // After comm: state is field 3 of the man page, ppid 4, starttime 22.
  return { comm, state: fields[0] ?? "", ppid: Number(fields[1]), startTime: fields[19] ?? "" };
}
