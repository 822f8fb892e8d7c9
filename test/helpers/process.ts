// Helpers for tests that run child processes: collect a stream's output and wait for
// a line (an event, not a sleep), and wait for a process to exit.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Stream } from "node:stream";

/** The repository root (/work/main when run there). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

interface Waiter {
  predicate: (line: string) => boolean;
  resolve: (line: string) => void;
}

/** Collects a text stream and lets tests wait for a line matching a predicate. */
export class LineCollector {
  text = "";
  private pending = "";
  private readonly completeLines: string[] = [];
  private readonly waiters = new Set<Waiter>();

  constructor(stream: Stream | null | undefined) {
    if (!stream) throw new Error("LineCollector: no stream (was stderr piped?)");
    stream.on("data", (chunk: Buffer | string) => this.push(String(chunk)));
  }

  get lines(): readonly string[] {
    return this.completeLines;
  }

  private push(chunk: string): void {
    this.text += chunk;
    this.pending += chunk;
    let index: number;
    while ((index = this.pending.indexOf("\n")) !== -1) {
      const line = this.pending.slice(0, index);
      this.pending = this.pending.slice(index + 1);
      this.completeLines.push(line);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(line)) {
          this.waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  }

  /**
   * Resolves with the first complete line matching `predicate`, among the lines from
   * index `fromLine` on (already seen or still to come).
   */
  waitForLine(
    predicate: (line: string) => boolean,
    timeoutMs = 10_000,
    what = "a matching line",
    fromLine = 0,
  ): Promise<string> {
    const seen = this.completeLines.slice(fromLine).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `${what} did not appear within ${timeoutMs} ms; got:\n${this.text.slice(-4000)}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Lines that parse as JSON objects (e.g. pino log lines). */
  jsonLines(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.completeLines) {
      const parsed = tryParse(line);
      if (parsed) out.push(parsed);
    }
    return out;
  }
}

export function tryParse(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A predicate for a JSON log line whose fields include all of `fields`. */
export function jsonLineWith(fields: Record<string, unknown>): (line: string) => boolean {
  return (line) => {
    const parsed = tryParse(line);
    return parsed !== undefined && Object.entries(fields).every(([k, v]) => parsed[k] === v);
  };
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the process exits; kills it (SIGKILL) and rejects after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs = 10_000): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/**
 * A minimal environment for a child process (PATH, HOME, TMPDIR, LANG) plus `extra`:
 * no NODE_OPTIONS, NODE_TEST_CONTEXT or TOOLGATE_* variables of this process leak in.
 */
export function minimalEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

// The MCP Inspector CLI (2.x needs Node 22). `npm test` finds both in .ci/tools and sets
// these variables; suites that use the inspector skip with INSPECTOR_SKIP when unset.
export const INSPECTOR_NODE22 = process.env["TOOLGATE_TEST_NODE22"];
export const INSPECTOR_CLI = process.env["TOOLGATE_INSPECTOR_CLI"];
export const INSPECTOR_SKIP: false | string =
  INSPECTOR_NODE22 && INSPECTOR_CLI
    ? false
    : "MCP Inspector CLI suite skipped: TOOLGATE_TEST_NODE22 and TOOLGATE_INSPECTOR_CLI are unset. " +
      "Run `npm ci --prefix .ci/tools` (installs Node 22 and the inspector; `npm test` then finds them), " +
      "or set TOOLGATE_TEST_NODE22=/path/to/node22 and TOOLGATE_INSPECTOR_CLI=/path/to/inspector/index.js";

export interface InspectorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the inspector CLI (`--cli` first, as it requires) with JSON output, with `home`
 * as HOME (it keeps state there) and only PATH besides. Rejects after `timeoutMs`.
 */
export function runInspector(
  args: readonly string[],
  options: { home: string; timeoutMs?: number },
): Promise<InspectorRun> {
  if (!INSPECTOR_NODE22 || !INSPECTOR_CLI) throw new Error(String(INSPECTOR_SKIP));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env: Record<string, string> = { HOME: options.home };
  if (process.env["PATH"] !== undefined) env["PATH"] = process.env["PATH"];
  return new Promise((resolve, reject) => {
    const child = spawn(INSPECTOR_NODE22, [INSPECTOR_CLI, "--cli", ...args, "--format", "json"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`inspector did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `result` of the inspector's one-line JSON output; checks the exit code first. */
export function inspectorResult(run: InspectorRun, expectedCode = 0): unknown {
  if (run.code !== expectedCode) {
    throw new Error(
      `exit ${run.code}, expected ${expectedCode}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
  const lines = run.stdout.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one JSON line, got: ${run.stdout}`);
  const parsed: unknown = JSON.parse(lines[0]!);
  const result =
    typeof parsed === "object" && parsed !== null
      ? (parsed as Record<string, unknown>)["result"]
      : undefined;
  if (result === undefined) throw new Error(`no result in ${run.stdout}`);
  return result;
}
