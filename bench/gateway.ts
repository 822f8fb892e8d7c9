// `npm run bench:gateway`: what the gateway costs in front of a toolgate HTTP upstream.
// Contenders, measured in the same run:
//   direct          a toolgate server with one trivial read tool (`echo`), no auth, no audit
//   gateway         createGateway in front of it: dev-issuer auth on, pinning on, audit off
//   gateway+audit   the same with a SQLite audit sink (a temp file); skip with --no-audit
// Each server runs in its own child process (bench/gateway-server.ts), so none shares an
// event loop with the load generator or another server. The load generator is the one of
// bench/idempotency.ts: plain fetch POSTs of `tools/call` (stateless Streamable HTTP) from
// N concurrent workers, closed loop, here for a fixed time with each call's latency kept.
// Rounds are interleaved (each round starts with another contender) and medians reported.
// The targets of the performance issue (gateway >= 0.7x the direct throughput, < 1 ms added
// p50) are printed as PASS/FAIL but never fail the process: a noisy VM is not a verdict.
//
// Options (flag or environment variable; flags win):
//   --duration=S     BENCH_DURATION_S     measured seconds per round and contender (5)
//   --rounds=N       BENCH_ROUNDS         interleaved rounds (3)
//   --connections=N  BENCH_CONNECTIONS    concurrent requests in flight (10)
//   --warmup=S       BENCH_WARMUP_S       warm-up seconds per contender, before round 1 (2)
//   --probe=S        BENCH_PROBE_S        seconds per round of one-connection latency, 0 = off (2)
//   --no-audit       BENCH_AUDIT=0        leave out the gateway+audit contender
// e.g. `npm run bench:gateway -- --rounds=5 --duration=10`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { devIssuer, type DevIssuer } from "../src/index.js";
import type { ServerConfig } from "./gateway-server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SERVER_SCRIPT = path.join(ROOT, "bench", "gateway-server.ts");
const RESULTS_DIR = path.join(ROOT, "bench", "results");

function option(name: string, envName: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = flag ? flag.slice(name.length + 3) : process.env[envName];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`--${name}: not a number: ${raw}`);
  return value;
}

const DURATION_MS = option("duration", "BENCH_DURATION_S", 5) * 1000;
const ROUNDS = Math.max(1, Math.round(option("rounds", "BENCH_ROUNDS", 3)));
const CONNECTIONS = Math.max(1, Math.round(option("connections", "BENCH_CONNECTIONS", 10)));
const WARMUP_MS = option("warmup", "BENCH_WARMUP_S", 2) * 1000;
const PROBE_MS = option("probe", "BENCH_PROBE_S", 2) * 1000;
const WITH_AUDIT = !process.argv.includes("--no-audit") && process.env["BENCH_AUDIT"] !== "0";
// Unrecorded lead-in of every round: keep-alive connections closed while the other
// contenders ran (the server's 5 s idle timeout) are reopened outside the window.
const LEAD_IN_MS = 300;
const SETTLE_MS = 200; // pause between two measurements (audit flushes, GC)
const READY_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 10_000;

const TARGET_RATIO = 0.7;
const TARGET_ADDED_P50_MS = 1;

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};
const body = (tool: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: tool, arguments: { message: "hi" } },
  });

interface Round {
  rate: number; // completed calls/s
  p50: number; // ms
  p99: number; // ms
  calls: number;
  errors: number;
}

interface Contender {
  name: string;
  url: string;
  tool: string;
  body: string;
  /** A fresh bearer token per round (dev tokens are short-lived); none for direct. */
  token?: () => Promise<string>;
  rounds: Round[];
  probes: Round[]; // one connection: latency without queueing
  errors: number;
  firstError?: string;
}

/** Child processes and temp files, removed however the bench ends. */
const children = new Set<ChildProcess>();
let tempDir: string | undefined;
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
function removeTempDir(): void {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true, maxRetries: 3 });
  tempDir = undefined;
}
/** Stops the servers (SIGTERM, SIGKILL after 3 s), then removes the temp files they used. */
async function shutdown(): Promise<void> {
  const stopping = [...children].filter(running);
  children.clear();
  const exited = stopping.map((child) => new Promise((resolve) => child.once("exit", resolve)));
  for (const child of stopping) child.kill("SIGTERM");
  const timer = setTimeout(() => stopping.filter(running).forEach((c) => c.kill("SIGKILL")), 3000);
  await Promise.all(exited);
  clearTimeout(timer);
  removeTempDir();
}
// Last resort (an uncaught error, a second Ctrl-C): no waiting possible here.
process.on("exit", () => {
  for (const child of children) if (running(child)) child.kill("SIGKILL");
  try {
    removeTempDir();
  } catch {
    // a server killed just now may still hold a file; nothing more can be done here
  }
});
let interrupted = false;
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

/**
 * What a server wrote to stderr during the run: silent loggers are used, so anything here
 * (e.g. a Node warning) is worth a note. Lines are grouped with their numbers masked.
 */
const serverLogs = new Map<string, { lines: number; kinds: Map<string, number> }>();
function serverLog(label: string) {
  const entry = { lines: 0, kinds: new Map<string, number>() };
  serverLogs.set(label, entry);
  return {
    add(line: string) {
      if (line.trim() === "" || line.includes("--trace-warnings")) return;
      entry.lines += 1;
      const kind = line.replace(/\d+/g, "N").slice(0, 200);
      if (entry.kinds.has(kind) || entry.kinds.size < 20) {
        entry.kinds.set(kind, (entry.kinds.get(kind) ?? 0) + 1);
      }
    },
  };
}

/** Starts bench/gateway-server.ts with `config`; resolves with the URL it prints. */
function startServer(label: string, config: ServerConfig): Promise<string> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", SERVER_SCRIPT, JSON.stringify(config)],
    { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
  );
  children.add(child);
  let stderr = "";
  const log = serverLog(label);
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) log.add(line);
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${label} server: ${why}${stderr ? `\n${stderr.trimEnd()}` : ""}`));
    };
    const timer = setTimeout(
      () => fail(`not ready within ${READY_TIMEOUT_MS} ms`),
      READY_TIMEOUT_MS,
    );
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      stdout += chunk;
      const line = stdout
        .split("\n")
        .slice(0, -1)
        .find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        fail(`unexpected output ${JSON.stringify(line)}`);
      }
    });
    child.once("error", (error) => fail(error.message));
    child.once("exit", (code, signal) => {
      children.delete(child);
      fail(`exited (${signal ?? `code ${String(code)}`}) before it was ready`);
    });
  });
}

/** The JSON-RPC message of a response, whether sent as JSON or as one SSE event. */
function parseMessage(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return JSON.parse(trimmed);
  const data = trimmed
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
    .join("");
  return JSON.parse(data);
}

/** One call, checked in full; throws with what came back unless it is a tool result. */
async function checkedCall(c: Contender, token?: string): Promise<void> {
  const res = await fetch(c.url, {
    method: "POST",
    headers: { ...HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: c.body,
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  const message = res.ok ? (parseMessage(text) as { result?: { isError?: boolean } }) : undefined;
  if (!message?.result || message.result.isError === true) {
    throw new Error(`${c.name}: first call failed: HTTP ${res.status} ${text.slice(0, 500)}`);
  }
}

/** `ms` of closed-loop calls over `connections` workers, each call's latency kept. */
async function drive(c: Contender, ms: number, connections: number): Promise<Round> {
  const headers: Record<string, string> = { ...HEADERS };
  if (c.token) headers["authorization"] = `Bearer ${await c.token()}`;
  const latencies: number[] = [];
  let errors = 0;
  const call = async (): Promise<boolean> => {
    try {
      const res = await fetch(c.url, {
        method: "POST",
        headers,
        body: c.body,
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await res.text();
      const ok = res.ok && text.includes('"result"') && !text.includes('"isError":true');
      if (!ok) c.firstError ??= `HTTP ${res.status} ${text.slice(0, 300)}`;
      return ok;
    } catch (error) {
      c.firstError ??= (error as Error).message;
      return false;
    }
  };
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      const ok = await call();
      latencies.push(performance.now() - start);
      if (!ok) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / (elapsed / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    calls: latencies.length,
    errors,
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = (rounds: Round[], key: keyof Round) => median(rounds.map((r) => r[key]));

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-bench-gateway-"));
  tempDir = dir;
  const keyFile = path.join(dir, "dev.json");
  // Created here first, so every gateway child loads this same key.
  const issuer: DevIssuer = await devIssuer({ keyFile });
  const directUrl = await startServer("direct", { kind: "direct" });
  const gatewayConfig = (auditFile?: string): ServerConfig => ({
    kind: "gateway",
    upstreamUrl: directUrl,
    keyFile,
    lockFile: path.join(dir, `lock-${auditFile ? "audit" : "plain"}.json`),
    storeFile: path.join(dir, `store-${auditFile ? "audit" : "plain"}.sqlite`),
    ...(auditFile ? { auditFile } : {}),
  });

  const [gatewayUrl, auditUrl] = await Promise.all([
    startServer("gateway", gatewayConfig()),
    WITH_AUDIT
      ? startServer("gateway+audit", gatewayConfig(path.join(dir, "audit.sqlite")))
      : undefined,
  ]);
  const contender = (name: string, url: string, tool: string, auth: boolean): Contender => ({
    name,
    url,
    tool,
    body: body(tool),
    ...(auth ? { token: () => issuer.mint({ sub: "bench", scope: [], audience: url }) } : {}),
    rounds: [],
    probes: [],
    errors: 0,
  });
  const contenders = [
    contender("direct", directUrl, "echo", false),
    contender("gateway", gatewayUrl, "up.echo", true),
  ];
  if (auditUrl) contenders.push(contender("gateway+audit", auditUrl, "up.echo", true));

  const notes: string[] = [];
  for (const c of contenders) {
    await checkedCall(c, c.token ? await c.token() : undefined);
    if (c.token) {
      // Auth must really be on, or the gateway numbers would flatter it.
      const res = await fetch(c.url, { method: "POST", headers: HEADERS, body: c.body });
      await res.text();
      if (res.status !== 401)
        notes.push(`${c.name}: a call without a token got HTTP ${res.status}, not 401`);
    }
    const warm = await drive(c, WARMUP_MS, CONNECTIONS);
    if (warm.errors > 0) notes.push(`${c.name}: ${warm.errors}/${warm.calls} warm-up calls failed`);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const order = [...contenders.slice(round % contenders.length), ...contenders];
    for (const c of order.slice(0, contenders.length)) {
      await drive(c, LEAD_IN_MS, CONNECTIONS);
      await sleep(SETTLE_MS);
      const measured = await drive(c, DURATION_MS, CONNECTIONS);
      c.rounds.push(measured);
      c.errors += measured.errors;
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${c.name}: ${measured.rate.toFixed(0)} calls/s, ` +
          `p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms\n`,
      );
      if (PROBE_MS > 0) {
        await sleep(SETTLE_MS);
        const probe = await drive(c, PROBE_MS, 1);
        c.probes.push(probe);
        c.errors += probe.errors;
      }
      await sleep(SETTLE_MS);
    }
  }
  await shutdown();
  report(contenders, notes);
}

function report(contenders: Contender[], notes: string[]): void {
  const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
  const rows = contenders.map((c) => [
    c.name,
    fmt(pick(c.rounds, "rate"), 0),
    fmt(pick(c.rounds, "p50"), 2),
    fmt(pick(c.rounds, "p99"), 2),
    c.rounds.map((r) => r.rate.toFixed(0)).join(" / "),
    PROBE_MS > 0 ? fmt(pick(c.probes, "p50"), 2) : "-",
    String(c.errors),
  ]);
  const header = [
    "contender",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "calls/s per round",
    "p50 ms @1 conn",
    "errors",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(
    `toolgate gateway bench: ${ROUNDS} interleaved rounds x ${DURATION_MS / 1000} s per contender, ` +
      `${CONNECTIONS} connections, closed loop, loopback, Node ${process.version}, ` +
      `${cpus().length} CPUs\n(calls/s, p50, p99: medians over rounds; ` +
      `"@1 conn": one call at a time, ${PROBE_MS / 1000} s per round)\n`,
  );
  for (const row of [header, widths.map((w) => "-".repeat(w)), ...rows]) {
    console.log(line(row).trimEnd());
  }
  console.log("");

  const direct = contenders[0]!;
  const verdicts: Record<string, unknown>[] = [];
  for (const gw of contenders.slice(1)) {
    const ratio = pick(gw.rounds, "rate") / pick(direct.rounds, "rate");
    const addedP50 = pick(gw.rounds, "p50") - pick(direct.rounds, "p50");
    const addedP99 = pick(gw.rounds, "p99") - pick(direct.rounds, "p99");
    const addedIdleP50 =
      PROBE_MS > 0 ? pick(gw.probes, "p50") - pick(direct.probes, "p50") : Number.NaN;
    const clean = gw.errors === 0 && direct.errors === 0;
    const ratioPass = clean && ratio >= TARGET_RATIO;
    const p50Pass = clean && addedP50 < TARGET_ADDED_P50_MS;
    const verdict = (pass: boolean) => (pass ? "PASS" : clean ? "FAIL" : "FAIL (errors)");
    const prefix = gw.name === "gateway" ? "" : `[${gw.name}] `;
    console.log(
      `${prefix}${gw.name}/direct throughput ratio: ${ratio.toFixed(2)} ` +
        `(target >= ${TARGET_RATIO}): ${verdict(ratioPass)}`,
    );
    console.log(
      `${prefix}added p50: ${addedP50.toFixed(2)} ms (target < ${TARGET_ADDED_P50_MS} ms): ` +
        verdict(p50Pass),
    );
    console.log(`${prefix}added p99: ${addedP99.toFixed(2)} ms`);
    if (PROBE_MS > 0) {
      console.log(
        `${prefix}added p50 at 1 connection: ${addedIdleP50.toFixed(2)} ms (no queueing)`,
      );
    }
    verdicts.push({
      contender: gw.name,
      throughputRatio: ratio,
      addedP50Ms: addedP50,
      addedP99Ms: addedP99,
      addedP50OneConnectionMs: addedIdleP50,
      ratioPass,
      addedP50Pass: p50Pass,
    });
  }
  for (const c of contenders.filter((x) => x.firstError !== undefined)) {
    notes.push(`${c.name}: first error: ${c.firstError}`);
  }
  for (const [label, log] of serverLogs) {
    if (log.lines === 0) continue;
    const top = [...log.kinds].sort((a, b) => b[1] - a[1]).slice(0, 3);
    notes.push(
      `${label} server wrote ${log.lines} line(s) to stderr, most often: ` +
        top.map(([kind, count]) => `${count}x "${kind}"`).join("; "),
    );
  }
  for (const note of notes) console.log(`note: ${note}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(
    RESULTS_DIR,
    `gateway-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  );
  const json = {
    bench: "gateway",
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    settings: {
      durationMs: DURATION_MS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      warmupMs: WARMUP_MS,
      probeMs: PROBE_MS,
    },
    targets: { throughputRatio: TARGET_RATIO, addedP50Ms: TARGET_ADDED_P50_MS },
    contenders: contenders.map((c) => ({
      name: c.name,
      tool: c.tool,
      median: {
        rate: pick(c.rounds, "rate"),
        p50Ms: pick(c.rounds, "p50"),
        p99Ms: pick(c.rounds, "p99"),
      },
      rounds: c.rounds,
      oneConnection: c.probes,
      errors: c.errors,
      ...(c.firstError === undefined ? {} : { firstError: c.firstError }),
    })),
    verdicts,
    notes,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(ROOT, file)}`);
}

try {
  await main();
} catch (error) {
  if (!interrupted) {
    console.error(`bench:gateway failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
} finally {
  await shutdown();
}
