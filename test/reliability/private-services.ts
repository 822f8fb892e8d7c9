// Private PostgreSQL and Redis instances for the outage suites: started on free loopback
// ports with their data in a temporary directory, so a suite may stop, kill, freeze and
// restart them freely without touching the shared services on 5432 and 6379 that other
// suites use. Nothing here is a sleep-and-hope: `start()` waits until the service answers,
// `stop()` until its process has exited.
//
// When the binaries are missing the suites skip with a clear message, except with CI=true
// and TOOLGATE_REQUIRE_INTEGRATION=1 where they must run (and so fail).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../helpers/server.js";

/** CI=true with TOOLGATE_REQUIRE_INTEGRATION=1: a suite that cannot run fails instead of skipping. */
export const REQUIRE_INTEGRATION =
  process.env["CI"] === "true" && process.env["TOOLGATE_REQUIRE_INTEGRATION"] === "1";

/** How `stop()` ends the service. */
export type StopMode =
  /** PostgreSQL: fast shutdown (SIGINT: abort transactions, disconnect). Redis: SIGTERM. */
  | "graceful"
  /** SIGKILL to the whole process group (a crash: no shutdown work at all). */
  | "kill";

export interface PrivateService {
  readonly name: string;
  readonly port: number;
  /** postgres://... or redis://... on 127.0.0.1. */
  readonly url: string;
  /** Starts the service (first time: creates it) and waits until it answers. */
  start(): Promise<void>;
  /** Stops the service and waits until its process has exited. */
  stop(mode?: StopMode): Promise<void>;
  /** SIGSTOP to every process of the service: it keeps its sockets but answers nothing. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** `stop(mode)` then `start()`. */
  restart(mode?: StopMode): Promise<void>;
  running(): boolean;
  /** The end of the service's own output (for failure messages). */
  logTail(): string;
  /** Kills the service (if running) and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Finding the binaries

function onPath(command: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The directory with `initdb` and `postgres` (newest /usr/lib/postgresql/N/bin, else PATH). */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = path.join(root, v, "bin");
      if (existsSync(path.join(bin, "initdb")) && existsSync(path.join(bin, "postgres"))) {
        return bin;
      }
    }
  }
  const initdb = onPath("initdb");
  if (initdb && existsSync(path.join(path.dirname(initdb), "postgres"))) {
    return path.dirname(initdb);
  }
  return undefined;
}

export function redisServerBinary(): string | undefined {
  return onPath("redis-server");
}

/** The uid and gid of the `postgres` account (initdb and postgres refuse to run as root). */
function postgresAccount(): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , uid, gid] = line.split(":");
      if (name === "postgres" && uid !== undefined && gid !== undefined) {
        return { uid: Number(uid), gid: Number(gid) };
      }
    }
  } catch {
    // no /etc/passwd: no account
  }
  return undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Why the private PostgreSQL cannot run here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (!postgresBinDir()) {
    return "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH";
  }
  if (isRoot() && !postgresAccount()) {
    return "running as root and there is no `postgres` account to run initdb/postgres as";
  }
  return undefined;
}

/** Why the private Redis cannot run here, or undefined when it can. */
export function redisMissing(): string | undefined {
  return redisServerBinary() ? undefined : "redis-server not found on PATH";
}

/**
 * The `skip` option of a suite that needs these services: false when it can run (or must:
 * CI=true and TOOLGATE_REQUIRE_INTEGRATION=1, where its `before` then fails on what is
 * missing), else a message saying what is missing and how to enable it.
 */
export function skipUnless(what: string, missing: readonly (string | undefined)[]): false | string {
  const reasons = missing.filter((m): m is string => m !== undefined);
  if (reasons.length === 0 || REQUIRE_INTEGRATION) return false;
  return (
    `${what} skipped: ${reasons.join("; ")}. Install postgresql and redis-server ` +
    "(e.g. apt-get install postgresql redis-server) to run it; with CI=true and " +
    "TOOLGATE_REQUIRE_INTEGRATION=1 this is a failure instead."
  );
}

/** Throws (in CI with integration required) when a service cannot be started here. */
export function assertAvailable(missing: readonly (string | undefined)[]): void {
  const reasons = missing.filter((m): m is string => m !== undefined);
  if (reasons.length > 0) {
    throw new Error(
      `integration required (CI=true, TOOLGATE_REQUIRE_INTEGRATION=1) but: ${reasons.join("; ")}`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// Shared process plumbing

/** A TCP port free right now on 127.0.0.1. */
export const freeLoopbackPort = freePort;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every service process alive, so a crash of the test process still takes them along. */
const alive = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of alive) killGroup(child, "SIGKILL");
});

/**
 * The pids of every descendant of `root`, from /proc (Linux). PostgreSQL's backends each
 * lead their own process group (setsid), so signalling the group misses them.
 */
function descendants(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Signals the service's whole process tree: its process group (it was spawned detached)
 * and every descendant. The root first for SIGSTOP and SIGKILL (it cannot fork or restart
 * children meanwhile), last for SIGCONT.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  const root = child.pid;
  if (root === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const tree = descendants(root);
  if (signal !== "SIGCONT") signalPid(-root, signal);
  for (const pid of tree) signalPid(pid, signal);
  if (signal === "SIGCONT") signalPid(-root, signal);
  signalPid(root, signal);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Waits for the process to exit; SIGKILLs its group after `timeoutMs`. */
async function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      killGroup(child, "SIGKILL");
      resolve();
    }, timeoutMs);
  });
  await Promise.race([exited(child), late]);
  clearTimeout(timer);
  await exited(child);
}

interface Spawned {
  child: ChildProcess;
  tail: () => string;
}

function spawnService(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; user?: { uid: number; gid: number } },
): Spawned {
  let output = "";
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: kill/freeze reach every backend
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
  });
  const keep = (chunk: Buffer) => {
    output = (output + String(chunk)).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  alive.add(child);
  child.once("exit", () => alive.delete(child));
  child.on("error", (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
  return { child, tail: () => output };
}

/** Polls `check` every 50 ms until it resolves; fails early if the process exits. */
async function waitReady(
  what: string,
  spawned: Spawned,
  check: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(
        `${what} exited (${spawned.child.exitCode ?? spawned.child.signalCode}) while starting:\n${spawned.tail()}`,
      );
    }
    try {
      await check();
      return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) {
      throw new Error(
        `${what} did not answer within ${timeoutMs} ms (${(last as Error)?.message}):\n${spawned.tail()}`,
      );
    }
    await sleep(50);
  }
}

/**
 * Start, stop (graceful or SIGKILL), freeze/thaw (SIGSTOP/SIGCONT, the whole process
 * tree) and dispose of one service process, as both private services need them.
 */
function managedService(spec: {
  name: string;
  label: string;
  port: number;
  url: string;
  dir: string;
  startTimeoutMs: number;
  gracefulSignal: NodeJS.Signals;
  launch: () => Spawned;
  ready: () => Promise<void>;
}): PrivateService {
  let current: Spawned | undefined;
  let disposed = false;
  const service: PrivateService = {
    name: spec.name,
    port: spec.port,
    url: spec.url,
    async start() {
      if (disposed) throw new Error(`${spec.label} was disposed`);
      if (current) throw new Error(`${spec.label} is already running`);
      const spawned = spec.launch();
      current = spawned;
      spawned.child.once("exit", () => {
        if (current === spawned) current = undefined;
      });
      await waitReady(spec.label, spawned, spec.ready, spec.startTimeoutMs);
    },
    async stop(mode = "graceful") {
      const spawned = current;
      if (!spawned) return;
      if (mode === "kill") killGroup(spawned.child, "SIGKILL");
      else {
        // A frozen service cannot shut down: thaw it first.
        killGroup(spawned.child, "SIGCONT");
        spawned.child.kill(spec.gracefulSignal);
      }
      await waitExit(spawned.child, 20_000);
      current = undefined;
    },
    freeze() {
      if (current) killGroup(current.child, "SIGSTOP");
    },
    thaw() {
      if (current) killGroup(current.child, "SIGCONT");
    },
    async restart(mode) {
      await service.stop(mode);
      await service.start();
    },
    running: () => current !== undefined,
    logTail: () => current?.tail() ?? "",
    async dispose() {
      if (disposed) return;
      disposed = true;
      const spawned = current;
      if (spawned) {
        killGroup(spawned.child, "SIGCONT");
        killGroup(spawned.child, "SIGKILL");
        await waitExit(spawned.child, 10_000);
      }
      current = undefined;
      rmSync(spec.dir, { recursive: true, force: true });
    },
  };
  return service;
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

export interface PrivatePostgresOptions {
  /** Bound on initdb + first start. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/**
 * A private PostgreSQL cluster: initdb (trust auth for local and 127.0.0.1) into a temp
 * directory on the first `start()`, then `postgres` on a free port with its unix socket
 * in that directory. As root, initdb and postgres run as the `postgres` account (the
 * directory is chowned to it). fsync is off for speed: outages here stop or kill
 * processes, never the machine, so the page cache keeps what was written. Commits stay
 * synchronous (WAL written before COMMIT returns), so a SIGKILL loses no committed row.
 */
export async function privatePostgres(
  options: PrivatePostgresOptions = {},
): Promise<PrivateService> {
  const missing = postgresMissing();
  if (missing) throw new Error(missing);
  const bin = postgresBinDir()!;
  const user = isRoot() ? postgresAccount() : undefined;
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-pg-"));
  const data = path.join(dir, "data");
  if (user) chownSync(dir, user.uid, user.gid);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let initialized = false;
  const initdb = () => {
    const result = spawnSync(
      path.join(bin, "initdb"),
      ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
      {
        cwd: dir,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C" },
        encoding: "utf8",
        timeout: startTimeoutMs,
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      },
    );
    if (result.status !== 0) {
      throw new Error(
        `initdb failed (${result.status ?? result.signal ?? result.error?.message}):\n` +
          `${result.stdout}\n${result.stderr}`,
      );
    }
    initialized = true;
  };

  const ping = async () => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 1_000,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  return managedService({
    name: "postgresql",
    label: "private PostgreSQL",
    port,
    url,
    dir,
    startTimeoutMs,
    // Fast shutdown.
    gracefulSignal: "SIGINT",
    ready: ping,
    launch: () => {
      if (!initialized) initdb();
      return spawnService(
        path.join(bin, "postgres"),
        [
          "-D",
          data,
          "-p",
          String(port),
          "-k",
          dir,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          "full_page_writes=off",
          "-c",
          "shared_buffers=16MB",
          "-c",
          "max_connections=60",
          "-c",
          "logging_collector=off",
          "-c",
          "log_min_messages=warning",
        ],
        { cwd: dir, ...(user ? { user } : {}) },
      );
    },
  });
}

// ---------------------------------------------------------------------------------------
// Redis

export interface PrivateRedisOptions {
  /**
   * Keep data across restarts (append-only file, fsync on every write). Default false:
   * `--save "" --appendonly no`, so a restart starts empty.
   */
  readonly persistent?: boolean;
  readonly startTimeoutMs?: number;
}

/** Sends PING over a fresh connection; resolves on +PONG. */
function redisPing(port: number, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error("no PONG in time")), timeoutMs);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += String(chunk);
      if (reply.includes("\r\n")) {
        done(reply.startsWith("+PONG") ? undefined : new Error(`PING answered ${reply.trim()}`));
      }
    });
    socket.on("error", (error) => done(error));
  });
}

/** A private redis-server on a free port, its working directory a temp directory. */
export async function privateRedis(options: PrivateRedisOptions = {}): Promise<PrivateService> {
  const missing = redisMissing();
  if (missing) throw new Error(missing);
  const binary = redisServerBinary()!;
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const persistence = options.persistent
    ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    : ["--appendonly", "no", "--save", ""];

  return managedService({
    name: "redis",
    label: "private Redis",
    port,
    url,
    dir,
    startTimeoutMs,
    gracefulSignal: "SIGTERM",
    ready: () => redisPing(port),
    launch: () =>
      spawnService(
        binary,
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--daemonize",
          "no",
          "--dir",
          dir,
          "--protected-mode",
          "yes",
          ...persistence,
        ],
        { cwd: dir },
      ),
  });
}
