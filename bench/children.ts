// The server children of `npm run bench` (bench/perf-server.ts, one process per server),
// the temp dirs they write to, and the clean-up however the bench ends (normal end, an
// error, Ctrl-C): shared by the comparison, the soak (bench/performance.ts) and the scale
// curves (bench/scale.ts).
import { spawn, type ChildProcess } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { childRequests } from "./child-ipc.js";
import { rawOption } from "./options.js";
import type { ChildStats, PerfServerConfig, StatsRequest } from "./perf-shared.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SERVER_SCRIPT = path.join(ROOT, "bench", "perf-server.ts");
/** What the server script imports from bench/ (src/ is transpiled whole). */
const SERVER_SOURCES = ["perf-shared.ts", "child-ipc.ts", "bench-tools.ts", "scale/servers.ts"].map(
  (f) => path.join(ROOT, "bench", f),
);
const READY_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 5_000;

export const USE_TSX =
  rawOption("tsx", "BENCH_TSX") !== undefined && process.env["BENCH_TSX"] !== "0";
export const EXTRA_NODE_FLAGS = (rawOption("node-flags", "BENCH_NODE_FLAGS") ?? "")
  .split(/\s+/)
  .filter(Boolean);

export interface Child {
  readonly name: string;
  readonly url: string;
  /**
   * The child's CPU and memory now (`gc`: also after a full GC; `watchGc`: with its own
   * full GCs since the last such request); undefined if it is gone.
   */
  stats(gc?: boolean, watchGc?: boolean): Promise<ChildStats | undefined>;
  /** Stops this server (no crash is reported for it). */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
/** Servers that exited while the bench still needed them. */
export const crashes: string[] = [];
const tempDirs = new Set<string>();
let activeRun: autocannon.Instance | undefined;
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** A new temp dir, removed by removeTempDir or when the bench ends. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}
/** The load run in progress, stopped on Ctrl-C. */
export function trackRun(instance: autocannon.Instance | undefined): void {
  activeRun = instance;
}

/** Stops these servers (SIGTERM, SIGKILL after 3 s). */
async function stopProcesses(list: readonly ChildProcess[]): Promise<void> {
  const stopping = list.filter(running);
  for (const child of list) children.delete(child);
  const exited = stopping.map((child) => new Promise((resolve) => child.once("exit", resolve)));
  for (const child of stopping) child.kill("SIGTERM");
  const timer = setTimeout(() => stopping.filter(running).forEach((c) => c.kill("SIGKILL")), 3000);
  await Promise.all(exited);
  clearTimeout(timer);
}
/** Stops every server still running. */
export const stopChildren = (): Promise<void> => stopProcesses([...children]);

export async function shutdown(): Promise<void> {
  activeRun?.stop();
  await stopChildren();
  for (const dir of tempDirs) removeTempDir(dir);
}
// Last resort (an uncaught error, a second Ctrl-C): no waiting possible here.
process.on("exit", () => {
  for (const child of children) if (running(child)) child.kill("SIGKILL");
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a server killed just now may still hold a file; nothing more can be done here
    }
  }
});
let interrupted = false;
/** Whether Ctrl-C (or SIGTERM) stopped the bench: its errors are not the bench's. */
export const wasInterrupted = () => interrupted;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the servers`);
    void shutdown()
      .catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`))
      .finally(() => process.exit(130));
  });
}

/** What each server wrote to stderr (they log nothing on purpose): grouped, numbers masked. */
const serverLogs = new Map<string, { lines: number; kinds: Map<string, number> }>();
function logOf(name: string) {
  const entry = serverLogs.get(name) ?? { lines: 0, kinds: new Map<string, number>() };
  serverLogs.set(name, entry);
  return (line: string) => {
    if (line.trim() === "" || line.includes("--trace-warnings")) return;
    entry.lines += 1;
    const kind = line.replace(/\d+/g, "N").slice(0, 200);
    if (entry.kinds.has(kind) || entry.kinds.size < 20) {
      entry.kinds.set(kind, (entry.kinds.get(kind) ?? 0) + 1);
    }
  };
}

/** Notes on the servers that crashed or wrote to stderr (then forgets them). */
export function serverLogNotes(notes: string[]): void {
  notes.push(...crashes.splice(0));
  for (const [name, log] of serverLogs) {
    if (log.lines === 0) continue;
    const top = [...log.kinds].sort((a, b) => b[1] - a[1]).slice(0, 3);
    notes.push(
      `${name} server wrote ${log.lines} line(s) to stderr, most often: ` +
        top.map(([kind, count]) => `${count}x "${kind}"`).join("; "),
    );
  }
  serverLogs.clear();
}

/** The command line of a server child: the JS build, or the TypeScript under tsx. */
let serverCommand: string[] = ["--import", "tsx", SERVER_SCRIPT];
/** Node flags of the server children (the soak adds --expose-gc). */
export const nodeFlags: string[] = [...EXTRA_NODE_FLAGS];
let prepared: Promise<string[]> | undefined;

/**
 * Makes the servers runnable once per bench: transpiles src/ and the server script into
 * a temp dir (TypeScript's transpileModule: no type check, so a type error someone is
 * fixing in src/ does not stop the bench). Resolves with notes (tsx, a failed build).
 */
export function prepareServers(): Promise<string[]> {
  prepared ??= (async () => {
    if (USE_TSX) return ["the servers run under tsx (--tsx)"];
    try {
      serverCommand = [await buildServers(makeTempDir("toolgate-bench-build-"))];
      return [];
    } catch (error) {
      return [`the servers run under tsx: the JS build failed: ${(error as Error).message}`];
    }
  })();
  return prepared;
}

/** The build, with a package.json (ESM) and a node_modules link to the repo's packages. */
async function buildServers(dir: string): Promise<string> {
  const { default: ts } = await import("typescript");
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) return walk(full);
      return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
    });
  for (const file of [...walk(path.join(ROOT, "src")), SERVER_SCRIPT, ...SERVER_SOURCES]) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        sourceMap: false,
      },
    });
    const out = path.join(dir, path.relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return path.join(dir, path.relative(ROOT, SERVER_SCRIPT)).replace(/\.ts$/, ".js");
}

/** Starts the server script with `config`; resolves once it printed its URL. */
export function startServer(name: string, config: PerfServerConfig): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeFlags, ...serverCommand, JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe", "ipc"],
  });
  children.add(proc);
  let stderr = "";
  let partial = "";
  const log = logOf(name);
  proc.stderr?.setEncoding("utf8");
  proc.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) log(line);
  });
  let ready = false;
  proc.once("exit", (code, signal) => {
    // Still ours to stop: it died on its own (stopChildren forgets a child before killing it).
    if (children.has(proc) && ready) {
      crashes.push(`${name} server exited during the run (${signal ?? `code ${String(code)}`})`);
    }
    children.delete(proc);
  });
  const ask = childRequests<ChildStats>(proc, STATS_TIMEOUT_MS);
  const stats = (gc = false, watchGc = false) =>
    ask({ gc, watchGc } satisfies Omit<StatsRequest, "id">);
  return new Promise((resolve, reject) => {
    let stdout = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${name} server: ${why}${stderr ? `\n${stderr.trimEnd()}` : ""}`));
    };
    const timer = setTimeout(
      () => fail(`not ready within ${READY_TIMEOUT_MS} ms`),
      READY_TIMEOUT_MS,
    );
    proc.stdout?.setEncoding("utf8");
    proc.stdout?.on("data", (chunk: string) => {
      stdout += chunk;
      const line = stdout
        .split("\n")
        .slice(0, -1)
        .find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      ready = true;
      try {
        const { url } = JSON.parse(line) as { url: string };
        resolve({ name, url, stats, stop: () => stopProcesses([proc]) });
      } catch {
        fail(`unexpected output ${JSON.stringify(line)}`);
      }
    });
    proc.once("error", (error) => fail(error.message));
    proc.once("exit", (code, signal) =>
      fail(`exited (${signal ?? `code ${String(code)}`}) before it was ready`),
    );
  });
}
