// `npm run bench`: "faster with every protection on than the bare SDK without any".
// Every contender serves the same trivial read tool, `echo({ message }) -> text`, each in
// its own child process (bench/perf-server.ts) on 127.0.0.1, and is driven by autocannon
// from this process with stateless Streamable HTTP POSTs of `tools/call`:
//   node-http          plain node:http answering the same JSON-RPC result (no MCP)
//   sdk1-stateless     @modelcontextprotocol/sdk v1: a new McpServer + transport per request
//   sdk1-stateful      the same with one session (initialized once, Mcp-Session-Id reused)
//   sdk2-stateless     @modelcontextprotocol/server v2: createMcpHandler + node adapter
//   fastmcp-stateless  FastMCP, httpStream transport, stateless: true
//   fastmcp-stateful   FastMCP, httpStream transport, one session
//   toolgate-read      createToolServer: dev-issuer auth (a bearer token per round, scope
//                      bench:read required), validation, audit to SQLite
//   toolgate-write     the same with an idempotent write tool and a SQLite store; every
//                      call carries a fresh Idempotency-Key (a new claim, never a replay)
//   toolgate-bare      createToolServer without auth or audit: the gateway's upstream
//   gateway            createGateway in front of toolgate-bare: auth, pinning, audit on
//   plain-proxy        a reverse proxy with no checks in front of toolgate-bare (the floor
//                      of any HTTP hop on this machine, for the gateway's ratio)
// Each contender's first call is checked (a tool result, not an error) before anything is
// measured; one that fails is reported and left out. Then a warm-up per contender, then
// interleaved rounds (each round starts with the next contender), medians reported. The
// CPU time of the server process(es) is read over IPC before and after each measured run:
// "CPU µs/call" is what the server side spent per call (for the gateway, gateway plus
// upstream). Targets are printed as PASS/FAIL; they never fail the process.
// Every call has its own JSON-RPC id (one session must not see two requests with one id).
// p50/p99 are percentiles of autocannon's own per-response times (2xx responses) at µs
// resolution: its histogram (result.latency, kept in the JSON) holds whole milliseconds.
// Results: bench/results/perf-<timestamp>.json (perf-soak-<timestamp>.json), git-ignored.
//
// Options (flag or environment variable; flags win):
//   --duration=S     BENCH_DURATION_S     measured seconds per round and contender (5)
//   --rounds=N       BENCH_ROUNDS         interleaved rounds (3)
//   --connections=N  BENCH_CONNECTIONS    concurrent connections (10)
//   --warmup=S       BENCH_WARMUP_S       warm-up seconds per contender, before round 1 (3)
//   --only=a,b       BENCH_ONLY           these contenders only (gateway brings toolgate-bare)
//   --soak[=S]       BENCH_SOAK_S         instead: the memory soak, toolgate-read at full load
//                                         for S seconds (300, at most 3000), authenticated
//                                         with jwtVerifier: 100,000 distinct RS256 tokens
//                                         (JWKS on loopback HTTP) in rotation, so the
//                                         verifier's cache turns over (bench/scale/
//                                         principals.ts). RSS sampled every 10 s, and
//                                         right after every full GC V8 makes by itself (none
//                                         is forced during the load: a forced one would cut
//                                         the heap's growth short and hide the peak). PASS:
//                                         peak RSS (getrusage) < 200 MB, and no growth trend:
//                                         the least-squares slope of RSS right after those
//                                         full GCs over the last 4 minutes < 1 MB/min (a
//                                         soak under 5 minutes: its 2nd half; from 20 s
//                                         after V8's first full GC if that is later)
//   --soak-principals=N BENCH_SOAK_PRINCIPALS  distinct tokens of the soak (100,000)
//   --tsx            BENCH_TSX=1          run the servers under tsx instead of a JS build
//   --node-flags=F   BENCH_NODE_FLAGS     extra Node/V8 flags for the server children
//                                         (space-separated), e.g. "--max-semi-space-size=8"
// The servers run as plain JavaScript, as a published toolgate would: src/ and the server
// script are transpiled (no type check) into the temp dir when the bench starts. tsx would
// add a loader thread (~30 MB RSS per process) and source-mapped stack traces to every
// server; --tsx measures that way anyway.
//   --no-scale, --only-scale, --scale=a,b, --scale-duration=S: the scale curves run after
//                                         the comparison (bench/scale.ts: options there)
// e.g. `npm run bench -- --rounds=5 --only=sdk2-stateless,toolgate-read --no-scale`.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { devIssuer, type DevIssuer } from "../src/index.js";
import { READ_SCOPE, WRITE_SCOPE, type PerfServerConfig } from "./perf-shared.js";
import {
  EXTRA_NODE_FLAGS,
  ROOT,
  makeTempDir,
  nodeFlags,
  prepareServers,
  removeTempDir,
  serverLogNotes,
  shutdown,
  startServer,
  stopChildren,
  wasInterrupted,
  type Child,
} from "./children.js";
import {
  HEADERS,
  drive,
  median,
  nextRpcId,
  percentile,
  post,
  goodBody,
  sleep,
  withCpu,
  type LoadResult,
} from "./drive.js";
import { CONNECTIONS, numberOption, rawOption } from "./options.js";
import { scaleSelection, runScale } from "./scale.js";
import { mintPrincipals, startJwtServer } from "./scale/principals.js";
import { slope } from "./slope.js";

const RESULTS_DIR = path.join(ROOT, "bench", "results");

const DURATION_S = numberOption("duration", "BENCH_DURATION_S", 5);
const ROUNDS = Math.max(1, Math.round(numberOption("rounds", "BENCH_ROUNDS", 3)));
const WARMUP_S = numberOption("warmup", "BENCH_WARMUP_S", 3);
// --soak alone: 300 s; --soak=S or BENCH_SOAK_S=S: S seconds; 0 (or absent): no soak.
const SOAK_RAW = rawOption("soak", "BENCH_SOAK_S");
const SOAK = SOAK_RAW !== undefined && SOAK_RAW !== "0";
const SOAK_S = SOAK_RAW === "" ? 300 : Number(SOAK_RAW);
const ONLY = rawOption("only", "BENCH_ONLY")
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
// Unrecorded lead-in of every measured run: fresh connections, a warm code path again.
const LEAD_IN_S = 0.5;
/** A contender whose slowest round is under this fraction of its fastest is noted. */
const NOISY_SPREAD = 0.75;
const SETTLE_MS = 200; // pause between two runs (audit flushes, GC)
const UNLOADED_S = 3; // the one-connection latency run of the hop contenders
const HOP_CONTENDERS: readonly string[] = ["toolgate-bare", "gateway", "plain-proxy"];
const SOAK_SAMPLE_MS = 10_000;
const SOAK_SEGMENT_S = 60; // one autocannon run per minute of soak
/** Distinct principals of the soak, their tokens in rotation (--soak-principals=N). */
const SOAK_PRINCIPALS = Math.max(
  1,
  Math.round(numberOption("soak-principals", "BENCH_SOAK_PRINCIPALS", 100_000)),
);
/** The soak's tokens are minted before it starts and live an hour (jwtVerifier's cap). */
const SOAK_MAX_S = 3000;

// Issue 21's targets (the gateway is compared with the plain proxy: both pay the same
// hop; its upstream called directly pays none, so that ratio is printed as a note).
const TARGETS = {
  readVsSdk: 3,
  readVsNodeHttp: 0.5,
  writeVsSdk: 4,
  gatewayVsProxy: 0.8,
  gatewayCpuVsProxyHop: 1.5,
  gatewayAddedP50Ms: 1,
  soakMaxRssMb: 200,
  soakSlopeMbPerMin: 1,
  soakWindowS: 240,
};

type Name =
  | "node-http"
  | "sdk1-stateless"
  | "sdk1-stateful"
  | "sdk2-stateless"
  | "fastmcp-stateless"
  | "fastmcp-stateful"
  | "toolgate-read"
  | "toolgate-write"
  | "toolgate-bare"
  | "gateway"
  | "plain-proxy";

interface Setup {
  readonly dir: string;
  readonly keyFile: string;
  readonly urls: Map<Name, string>;
}

interface Spec {
  readonly name: Name;
  readonly tool: string;
  /** The scopes of its bearer token; without, no token is sent. */
  readonly scopes?: readonly string[];
  /** Every call carries a fresh Idempotency-Key. */
  readonly write?: boolean;
  /** Initialize one session first; calls carry its Mcp-Session-Id. */
  readonly stateful?: boolean;
  /** Another contender's server this one calls (charged to its CPU too). */
  readonly upstream?: Name;
  readonly config: (setup: Setup) => PerfServerConfig;
}

const SPECS: readonly Spec[] = [
  { name: "node-http", tool: "echo", config: () => ({ kind: "node-http" }) },
  { name: "sdk1-stateless", tool: "echo", config: () => ({ kind: "sdk1-stateless" }) },
  {
    name: "sdk1-stateful",
    tool: "echo",
    stateful: true,
    config: () => ({ kind: "sdk1-stateful" }),
  },
  { name: "sdk2-stateless", tool: "echo", config: () => ({ kind: "sdk2-stateless" }) },
  { name: "fastmcp-stateless", tool: "echo", config: () => ({ kind: "fastmcp-stateless" }) },
  {
    name: "fastmcp-stateful",
    tool: "echo",
    stateful: true,
    config: () => ({ kind: "fastmcp-stateful" }),
  },
  {
    name: "toolgate-read",
    tool: "echo",
    scopes: [READ_SCOPE],
    config: ({ dir, keyFile }) => ({
      kind: "toolgate-read",
      keyFile,
      auditFile: path.join(dir, "read-audit.sqlite"),
      storeFile: path.join(dir, "read-store.sqlite"),
    }),
  },
  {
    name: "toolgate-write",
    tool: "record",
    scopes: [WRITE_SCOPE],
    write: true,
    config: ({ dir, keyFile }) => ({
      kind: "toolgate-write",
      keyFile,
      auditFile: path.join(dir, "write-audit.sqlite"),
      storeFile: path.join(dir, "write-store.sqlite"),
    }),
  },
  { name: "toolgate-bare", tool: "echo", config: () => ({ kind: "toolgate-upstream" }) },
  {
    name: "gateway",
    tool: "up.echo",
    scopes: [READ_SCOPE],
    upstream: "toolgate-bare",
    config: ({ dir, keyFile, urls }) => ({
      kind: "gateway",
      upstreamUrl: urls.get("toolgate-bare") ?? "",
      keyFile,
      lockFile: path.join(dir, "gateway-lock.json"),
      storeFile: path.join(dir, "gateway-store.sqlite"),
      auditFile: path.join(dir, "gateway-audit.sqlite"),
    }),
  },
  {
    name: "plain-proxy",
    tool: "echo",
    upstream: "toolgate-bare",
    config: ({ urls }) => ({ kind: "plain-proxy", upstreamUrl: urls.get("toolgate-bare") ?? "" }),
  },
];

// ---------------------------------------------------------------------------------------
// Calls.

interface Contender {
  readonly spec: Spec;
  readonly child: Child;
  /** The processes a call goes through: the contender's own, then its upstream's. */
  readonly processes: readonly Child[];
  /** Headers of every call (token, session) once prepared. */
  headers: Record<string, string>;
  /** Why its first call failed; a failed contender is not measured. */
  failed?: string;
  rounds: Round[];
  errors: number;
  firstError?: string;
  /** Completed calls and runs of every load run (warm-up and lead-ins too). */
  loadCalls: number;
  loadRuns: number;
  /** p50/p99 (ms) with one connection (no queueing): what one hop adds to a call. */
  unloaded?: { p50: number; p99: number; calls: number };
  /** Authorization headers the calls take in turn (the soak's distinct principals). */
  authorizations?: readonly string[];
}

interface Round {
  /** Completed calls per second (all responses, errors included; see `errors`). */
  rate: number;
  /** Latency percentiles (ms) of the 2xx responses, from autocannon's per-response times. */
  p50: number;
  p99: number;
  /** autocannon's own histogram percentiles (whole milliseconds). */
  histogramP50: number;
  histogramP99: number;
  calls: number;
  /** Non-2xx, connection errors, timeouts, and 2xx bodies that are not a tool result. */
  errors: number;
  seconds: number;
  /** Server CPU (user + system) per call, µs: every process the call goes through. */
  cpuUsPerCall: number;
  /** The same for the contender's own process only. */
  ownCpuUsPerCall: number;
  rssMb: number;
}

const callBody = (tool: string, id: number) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":{"message":"hi"}}}`;

/** A fresh bearer token for the contender's URL (dev tokens are short-lived). */
async function tokenHeader(
  c: Contender,
  issuer: DevIssuer,
  ttlSec = 900,
): Promise<Record<string, string>> {
  if (!c.spec.scopes) return {};
  const token = await issuer.mint({
    sub: "bench",
    scope: c.spec.scopes,
    audience: c.child.url,
    ttlSec,
  });
  return { authorization: `Bearer ${token}` };
}

/**
 * Token and session, then one call checked in full (a tool result, not an error). Returns
 * notes on what else was checked (auth refused without a token, a repeated key replayed).
 */
async function prepare(c: Contender, issuer: DevIssuer): Promise<string[]> {
  const notes: string[] = [];
  c.headers = { ...HEADERS, ...(await tokenHeader(c, issuer)) };
  const { name } = c.spec;
  if (c.spec.stateful) {
    const init = await post(c.child.url, c.headers, {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: HEADERS["mcp-protocol-version"],
        capabilities: {},
        clientInfo: { name: "toolgate-bench", version: "1.0.0" },
      },
    });
    const sessionId = init.headers.get("mcp-session-id");
    const version = (init.message as { result?: { protocolVersion?: string } } | undefined)?.result
      ?.protocolVersion;
    if (!sessionId || !version) {
      throw new Error(`initialize: HTTP ${init.status} ${init.text.slice(0, 500)}`);
    }
    c.headers = { ...c.headers, "mcp-session-id": sessionId, "mcp-protocol-version": version };
    const initialized = await post(c.child.url, c.headers, {
      jsonrpc: "2.0",
      method: "notifications/initialized",
    });
    if (initialized.status >= 300) {
      throw new Error(`notifications/initialized: HTTP ${initialized.status} ${initialized.text}`);
    }
  }
  const key = randomUUID();
  const headers = c.spec.write ? { ...c.headers, "idempotency-key": key } : c.headers;
  const body = callBody(c.spec.tool, nextRpcId());
  const first = await post(c.child.url, headers, body);
  const result = first.message?.result;
  if (first.status !== 200 || !result || result.isError === true || !goodBody(first.text)) {
    throw new Error(`HTTP ${first.status} ${first.text.slice(0, 500)}`);
  }
  if (c.spec.scopes) {
    // Auth must really be on, or the numbers would flatter toolgate.
    const { authorization: _, ...anonymous } = headers;
    const refused = await post(c.child.url, anonymous, body);
    if (refused.status !== 401) {
      notes.push(`${name}: a call without a token got HTTP ${refused.status}, not 401`);
    }
  }
  if (c.spec.write) {
    // The first call was a new operation; the same key again must be a replay.
    if (result._meta?.["toolgate/idempotent-replay"] === true) {
      throw new Error("the first call with a fresh key was answered as a replay");
    }
    const again = await post(c.child.url, headers, callBody(c.spec.tool, nextRpcId()));
    if (again.message?.result?._meta?.["toolgate/idempotent-replay"] !== true) {
      notes.push(`${name}: the same Idempotency-Key twice was not replayed: idempotency off?`);
    }
  }
  return notes;
}

/** `seconds` of load against `c`; every call gets its own id (and key, and token in turn). */
async function load(c: Contender, seconds: number, connections: number): Promise<LoadResult> {
  const { tool, write } = c.spec;
  const auths = c.authorizations;
  let turn = 0;
  const run = await drive({
    url: c.child.url,
    seconds,
    connections,
    headers: c.headers,
    setup: (request) => {
      request.body = callBody(tool, nextRpcId());
      if (!request.headers) return;
      if (write) request.headers["idempotency-key"] = randomUUID();
      if (auths) request.headers["authorization"] = auths[turn++ % auths.length]!;
    },
  });
  c.loadCalls += run.calls;
  c.loadRuns += 1;
  return run;
}

/** One measured run: CPU of the server processes read before and after. */
async function measure(c: Contender): Promise<Round> {
  const {
    result: run,
    cpuUs: spent,
    after,
  } = await withCpu(c.processes, () => load(c, DURATION_S, CONNECTIONS));
  if (run.firstError !== undefined) c.firstError ??= run.firstError;
  c.errors += run.errors;
  return {
    rate: run.calls / run.seconds,
    p50: percentile(run.latencies, 0.5),
    p99: percentile(run.latencies, 0.99),
    histogramP50: run.histogramP50,
    histogramP99: run.histogramP99,
    calls: run.calls,
    errors: run.errors,
    seconds: run.seconds,
    cpuUsPerCall: spent.reduce((a, b) => a + b, 0) / run.calls,
    ownCpuUsPerCall: (spent[0] ?? Number.NaN) / run.calls,
    rssMb: (after[0]?.rss ?? Number.NaN) / 2 ** 20,
  };
}

// ---------------------------------------------------------------------------------------
// Setup shared by both modes.

async function startContenders(
  names: readonly Name[],
  issuer: DevIssuer,
  setup: Setup,
  notes: string[],
): Promise<Contender[]> {
  const specs = SPECS.filter((s) => names.includes(s.name));
  const started = new Map<Name, Child>();
  const startFailures = new Map<Name, string>();
  // Upstreams first (their URL goes into the gateway's config), the rest in parallel.
  const tiers = [specs.filter((s) => !s.upstream), specs.filter((s) => s.upstream)];
  for (const tier of tiers) {
    await Promise.all(
      tier.map(async (spec) => {
        if (spec.upstream && !started.has(spec.upstream)) {
          startFailures.set(spec.name, `its upstream ${spec.upstream} did not start`);
          return;
        }
        try {
          const child = await startServer(spec.name, spec.config(setup));
          started.set(spec.name, child);
          setup.urls.set(spec.name, child.url);
        } catch (error) {
          startFailures.set(spec.name, (error as Error).message);
        }
      }),
    );
  }
  const contenders: Contender[] = [];
  for (const spec of specs) {
    const child = started.get(spec.name);
    if (!child) {
      const why = `the server did not start: ${startFailures.get(spec.name) ?? "?"}`;
      console.error(`FAIL ${spec.name}: ${why}`);
      const stub: Child = {
        name: spec.name,
        url: "",
        stats: () => Promise.resolve(undefined),
        stop: () => Promise.resolve(),
      };
      contenders.push({
        spec,
        child: stub,
        processes: [],
        headers: HEADERS,
        failed: why,
        rounds: [],
        errors: 0,
        loadCalls: 0,
        loadRuns: 0,
      });
      continue;
    }
    const upstream = spec.upstream ? started.get(spec.upstream) : undefined;
    const c: Contender = {
      spec,
      child,
      processes: upstream ? [child, upstream] : [child],
      headers: HEADERS,
      rounds: [],
      errors: 0,
      loadCalls: 0,
      loadRuns: 0,
    };
    try {
      notes.push(...(await prepare(c, issuer)));
    } catch (error) {
      c.failed = (error as Error).message;
      c.failed = `first call: ${c.failed}`;
      console.error(`FAIL ${spec.name}: ${c.failed}`);
    }
    contenders.push(c);
  }
  return contenders;
}

function selectedNames(all: readonly Name[]): Name[] {
  if (!ONLY) return [...all];
  const unknown = ONLY.filter((n) => !all.includes(n as Name));
  if (unknown.length > 0) {
    throw new TypeError(
      `--only: unknown contender(s) ${unknown.join(", ")}; known: ${all.join(", ")}`,
    );
  }
  const names = new Set(ONLY as Name[]);
  for (const spec of SPECS) if (names.has(spec.name) && spec.upstream) names.add(spec.upstream);
  return all.filter((n) => names.has(n));
}

async function prepareRun(notes: string[]): Promise<{ issuer: DevIssuer; setup: Setup }> {
  const dir = makeTempDir("toolgate-bench-perf-");
  source = sourceVersion();
  notes.push(...(await prepareServers()));
  const keyFile = path.join(dir, "dev.json");
  // Created here first, so every child loads this same key.
  const issuer = await devIssuer({ keyFile });
  return { issuer, setup: { dir, keyFile, urls: new Map() } };
}

function resultFile(kind: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
}

/** HEAD and whether src/ has uncommitted changes (others may be editing it as we run). */
function sourceVersion(): { commit?: string; srcDirty?: boolean } {
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  try {
    return {
      commit: git("rev-parse", "--short", "HEAD").trim(),
      srcDirty: git("status", "--porcelain", "--", "src").trim() !== "",
    };
  } catch {
    return {};
  }
}

/** The source measured: taken when the servers are built, at the start. */
let source: ReturnType<typeof sourceVersion> = {};

function environment() {
  return {
    ...source,
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
  };
}

/** Rows counted in a SQLite file the servers wrote (they are stopped by now). */
async function countRows(file: string, table: string): Promise<number | undefined> {
  try {
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// The comparison.

async function compare(): Promise<void> {
  const names = selectedNames(SPECS.map((s) => s.name));
  const notes: string[] = [];
  const { issuer, setup } = await prepareRun(notes);
  const t0 = performance.now();
  process.stderr.write(`starting ${names.length} servers: ${names.join(", ")}\n`);
  const contenders = await startContenders(names, issuer, setup, notes);
  const live = contenders.filter((c) => !c.failed);

  for (const c of live) {
    if (WARMUP_S <= 0) break;
    const warm = await load(c, WARMUP_S, CONNECTIONS);
    process.stderr.write(
      `warm-up ${c.spec.name}: ${(warm.calls / warm.seconds).toFixed(0)} calls/s\n`,
    );
    if (warm.errors > 0) {
      notes.push(`${c.spec.name}: ${warm.errors}/${warm.calls} warm-up calls failed`);
      if (warm.firstError !== undefined) c.firstError ??= warm.firstError;
    }
    await sleep(SETTLE_MS);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const order = [...live.slice(round % live.length), ...live].slice(0, live.length);
    for (const c of order) {
      // New tokens every round: a long run must not outlive them.
      if (c.spec.scopes) {
        c.headers = { ...c.headers, ...(await tokenHeader(c, issuer)) };
      }
      await load(c, LEAD_IN_S, CONNECTIONS);
      await sleep(SETTLE_MS);
      const measured = await measure(c);
      c.rounds.push(measured);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${c.spec.name}: ${measured.rate.toFixed(0)} calls/s, ` +
          `p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms, ` +
          `${measured.cpuUsPerCall.toFixed(0)} µs CPU/call` +
          (measured.errors > 0 ? `, ${measured.errors} errors` : "") +
          "\n",
      );
      await sleep(SETTLE_MS);
    }
  }
  // The latency one hop adds: one connection, so nothing waits in a queue. At 10
  // connections a CPU-bound 2-core machine turns any throughput gap into queueing
  // (p50 ~ connections / throughput), which says nothing more than the throughput ratio.
  for (const c of live.filter((c) => HOP_CONTENDERS.includes(c.spec.name))) {
    if (c.spec.scopes) c.headers = { ...c.headers, ...(await tokenHeader(c, issuer)) };
    await load(c, LEAD_IN_S, 1);
    const run = await load(c, UNLOADED_S, 1);
    c.unloaded = {
      p50: percentile(run.latencies, 0.5),
      p99: percentile(run.latencies, 0.99),
      calls: run.calls,
    };
    process.stderr.write(
      `1 connection ${c.spec.name}: p50 ${c.unloaded.p50.toFixed(3)} ms, ` +
        `p99 ${c.unloaded.p99.toFixed(3)} ms\n`,
    );
  }
  const elapsedS = (performance.now() - t0) / 1000;

  await stopChildren();
  // Protections really on: an audit event per call, an idempotency record per write. A
  // run's last calls may be cut off in flight (up to one per connection) after the server
  // took them, and the checks add a few: rows should be calls .. calls + slack.
  const byName = (n: Name) => contenders.find((c) => c.spec.name === n && !c.failed);
  const tally = async (c: Contender | undefined, file: string, table: string, what: string) => {
    if (!c) return;
    const rows = await countRows(path.join(setup.dir, file), table);
    const slack = c.loadRuns * CONNECTIONS + 3;
    const fits = rows !== undefined && rows >= c.loadCalls && rows <= c.loadCalls + slack;
    notes.push(
      `${c.spec.name}: ${rows ?? "?"} ${what} for ${c.loadCalls} completed calls in ` +
        `${c.loadRuns} runs (warm-up and lead-ins included)` +
        (fits ? ": one per call" : `: expected ${c.loadCalls} to ${c.loadCalls + slack}`),
    );
  };
  await tally(byName("toolgate-read"), "read-audit.sqlite", "toolgate_audit", "audit rows");
  await tally(
    byName("toolgate-write"),
    "write-store.sqlite",
    "toolgate_idempotency",
    "idempotency records (new claims, no replays)",
  );
  removeTempDir(setup.dir);
  report(contenders, notes, elapsedS);
}

function report(contenders: Contender[], notes: string[], elapsedS: number): void {
  const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
  const pick = (c: Contender, key: keyof Round) => median(c.rounds.map((r) => r[key]));
  const header = [
    "contender",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "CPU µs/call",
    "RSS MB",
    "errors",
    "calls/s per round",
  ];
  const rows = contenders.map((c) =>
    c.failed
      ? [c.spec.name, "FAILED", "-", "-", "-", "-", "-", c.failed.replace(/\s+/g, " ").slice(0, 60)]
      : [
          c.spec.name,
          fmt(pick(c, "rate"), 0),
          fmt(pick(c, "p50"), 2),
          fmt(pick(c, "p99"), 2),
          fmt(pick(c, "cpuUsPerCall"), 0),
          fmt(c.rounds.at(-1)?.rssMb ?? Number.NaN, 0),
          String(c.errors),
          c.rounds.map((r) => r.rate.toFixed(0)).join(" / "),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ");
  console.log(
    `\ntoolgate performance bench: ${ROUNDS} interleaved rounds x ${DURATION_S} s per contender, ` +
      `${CONNECTIONS} connections, autocannon, loopback, Node ${process.version}, ` +
      `${cpus().length} CPUs, ${elapsedS.toFixed(0)} s in all, toolgate ${source.commit ?? "?"}` +
      `${source.srcDirty ? " + uncommitted src/ changes" : ""}\n` +
      `(medians over rounds; p50/p99 from autocannon's per-response times of 2xx responses; ` +
      `CPU: the server process(es) per call, the gateway's includes its upstream's)\n`,
  );
  for (const row of [header, widths.map((w) => "-".repeat(w)), ...rows]) {
    console.log(line(row).trimEnd());
  }
  console.log("");

  const byName = (n: Name) => contenders.find((c) => c.spec.name === n && !c.failed);
  const rate = (c: Contender) => pick(c, "rate");
  const verdicts: Record<string, unknown>[] = [];
  const verdict = (
    target: string,
    involved: (Contender | undefined)[],
    compute: (cs: Contender[]) => { value: number; pass: boolean; shown: string },
  ) => {
    if (involved.some((c) => c === undefined)) {
      console.log(`${target}: n/a (contender not run or failed)`);
      verdicts.push({ target, result: "n/a" });
      return;
    }
    const cs = involved as Contender[];
    const { value, pass, shown } = compute(cs);
    const clean = cs.every((c) => c.errors === 0);
    const result = pass && clean ? "PASS" : clean ? "FAIL" : pass ? "FAIL (errors)" : "FAIL";
    console.log(`${target}: ${shown}: ${result}`);
    verdicts.push({ target, value, result });
  };
  const sdk1 = byName("sdk1-stateless");
  const sdk2 = byName("sdk2-stateless");
  const read = byName("toolgate-read");
  const write = byName("toolgate-write");
  const fasterSdk = (a: Contender, b: Contender) => (rate(a) >= rate(b) ? a : b);
  verdict(
    `toolgate-read >= ${TARGETS.readVsSdk}x max(sdk1-stateless, sdk2-stateless) calls/s`,
    [read, sdk1, sdk2],
    ([r, a, b]) => {
      const value = rate(r!) / Math.max(rate(a!), rate(b!));
      return { value, pass: value >= TARGETS.readVsSdk, shown: `${value.toFixed(2)}x` };
    },
  );
  verdict(
    `toolgate-read >= ${TARGETS.readVsNodeHttp}x node-http calls/s`,
    [read, byName("node-http")],
    ([r, h]) => {
      const value = rate(r!) / rate(h!);
      return { value, pass: value >= TARGETS.readVsNodeHttp, shown: `${value.toFixed(2)}x` };
    },
  );
  verdict(
    `toolgate-write >= ${TARGETS.writeVsSdk}x max(sdk1-stateless, sdk2-stateless) calls/s`,
    [write, sdk1, sdk2],
    ([w, a, b]) => {
      const value = rate(w!) / Math.max(rate(a!), rate(b!));
      return { value, pass: value >= TARGETS.writeVsSdk, shown: `${value.toFixed(2)}x` };
    },
  );
  verdict(
    "toolgate-read p99 < the faster bare SDK stateless contender's p50",
    [read, sdk1, sdk2],
    ([r, a, b]) => {
      const sdk = fasterSdk(a!, b!);
      const value = pick(r!, "p99");
      const theirs = pick(sdk, "p50");
      return {
        value,
        pass: value < theirs,
        shown: `${value.toFixed(2)} ms vs ${theirs.toFixed(2)} ms (${sdk.spec.name})`,
      };
    },
  );
  const gateway = byName("gateway");
  const upstream = byName("toolgate-bare");
  const proxy = byName("plain-proxy");
  if (gateway || upstream || proxy || contenders.some((c) => c.spec.name === "gateway")) {
    verdict(
      `gateway >= ${TARGETS.gatewayVsProxy}x the plain proxy's calls/s (same upstream)`,
      [gateway, proxy],
      ([g, p]) => {
        const value = rate(g!) / rate(p!);
        return { value, pass: value >= TARGETS.gatewayVsProxy, shown: `${value.toFixed(2)}x` };
      },
    );
    verdict(
      `gateway's own CPU per forwarded call <= ${TARGETS.gatewayCpuVsProxyHop}x the plain proxy's hop`,
      [gateway, proxy],
      ([g, p]) => {
        const own = pick(g!, "ownCpuUsPerCall");
        const hop = pick(p!, "ownCpuUsPerCall");
        const value = own / hop;
        return {
          value,
          pass: value <= TARGETS.gatewayCpuVsProxyHop,
          shown: `${own.toFixed(0)} µs vs ${hop.toFixed(0)} µs: ${value.toFixed(2)}x`,
        };
      },
    );
    verdict(
      `gateway added p50 < ${TARGETS.gatewayAddedP50Ms} ms (1 connection: the hop, no queueing)`,
      [gateway, upstream],
      ([g, u]) => {
        const value = (g!.unloaded?.p50 ?? Number.NaN) - (u!.unloaded?.p50 ?? Number.NaN);
        const p99 = (g!.unloaded?.p99 ?? Number.NaN) - (u!.unloaded?.p99 ?? Number.NaN);
        const loaded = pick(g!, "p50") - pick(u!, "p50");
        return {
          value,
          pass: value < TARGETS.gatewayAddedP50Ms,
          shown:
            `${value.toFixed(2)} ms (p99 +${p99.toFixed(2)} ms); at ${CONNECTIONS} connections ` +
            `+${loaded.toFixed(2)} ms, mostly queueing behind the throughput gap`,
        };
      },
    );
  }
  if (gateway && proxy && upstream) {
    notes.push(
      `hop floor: a plain reverse proxy with no checks reaches ` +
        `${(rate(proxy) / rate(upstream)).toFixed(2)}x of toolgate-bare called directly; the gateway ` +
        `(auth, pinning, audit) ${(rate(gateway) / rate(upstream)).toFixed(2)}x`,
    );
  }
  if (gateway) {
    // The proxy's own process is its hop: its CPU per call without its upstream's.
    const hop = proxy ? pick(proxy, "ownCpuUsPerCall") : Number.NaN;
    notes.push(
      `gateway CPU/call: ${pick(gateway, "ownCpuUsPerCall").toFixed(0)} µs in the gateway, ` +
        `${(pick(gateway, "cpuUsPerCall") - pick(gateway, "ownCpuUsPerCall")).toFixed(0)} µs in its upstream` +
        (proxy
          ? `; the plain proxy's hop ${hop.toFixed(0)} µs (gateway ` +
            `${(pick(gateway, "ownCpuUsPerCall") / hop).toFixed(2)}x of it)`
          : ""),
    );
  }

  const noisy = contenders.filter((c) => {
    const rates = c.rounds.map((r) => r.rate);
    return rates.length > 1 && Math.min(...rates) < NOISY_SPREAD * Math.max(...rates);
  });
  if (noisy.length > 0) {
    notes.push(
      `rounds differ by more than ${Math.round((1 - NOISY_SPREAD) * 100)}% for ` +
        `${noisy.map((c) => c.spec.name).join(", ")}: the machine was busy with something ` +
        `else at times; the medians discount one bad round, more rounds (--rounds=5) help`,
    );
  }
  for (const c of contenders) {
    if (c.failed !== undefined) notes.push(`${c.spec.name} FAILED: ${c.failed}`);
    if (c.firstError !== undefined) notes.push(`${c.spec.name}: first error: ${c.firstError}`);
  }
  serverLogNotes(notes);
  if (notes.length > 0) console.log("");
  for (const note of notes) console.log(`note: ${note}`);

  const file = resultFile("perf");
  const json = {
    bench: "performance",
    ...environment(),
    settings: {
      durationS: DURATION_S,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      warmupS: WARMUP_S,
      nodeFlags: EXTRA_NODE_FLAGS,
      leadInS: LEAD_IN_S,
      only: ONLY ?? null,
    },
    targets: TARGETS,
    contenders: contenders.map((c) => ({
      name: c.spec.name,
      tool: c.spec.tool,
      ...(c.failed
        ? { failed: c.failed }
        : {
            median: {
              rate: pick(c, "rate"),
              p50Ms: pick(c, "p50"),
              p99Ms: pick(c, "p99"),
              cpuUsPerCall: pick(c, "cpuUsPerCall"),
              ownCpuUsPerCall: pick(c, "ownCpuUsPerCall"),
            },
            rounds: c.rounds,
            errors: c.errors,
            ...(c.unloaded ? { oneConnection: c.unloaded } : {}),
          }),
      ...(c.firstError === undefined ? {} : { firstError: c.firstError }),
    })),
    verdicts,
    notes,
    elapsedS,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(ROOT, file)}`);
}

// ---------------------------------------------------------------------------------------
// The memory soak.

interface Sample {
  t: number; // s since the load started
  rssMb: number;
  /** The process's peak RSS so far (getrusage). */
  peakRssMb: number;
  heapUsedMb: number;
  /** Right after a forced full GC (before the load and at the end): what is retained. */
  gcRssMb?: number;
  gcHeapUsedMb?: number;
}

/** Right after a full GC that V8 made by itself during the load. */
interface GcPoint {
  t: number; // s since the load started
  rssMb: number;
  heapUsedMb: number;
}

async function soak(): Promise<void> {
  if (!Number.isFinite(SOAK_S) || SOAK_S <= 0) {
    throw new TypeError(`--soak: not a number of seconds: ${SOAK_RAW}`);
  }
  if (SOAK_S > SOAK_MAX_S) {
    throw new TypeError(
      `--soak: at most ${SOAK_MAX_S} s: the soak's tokens live an hour (the verifier's ` +
        `lifetime cap) from when they are minted`,
    );
  }
  const notes: string[] = [];
  nodeFlags.push("--expose-gc");
  const { setup } = await prepareRun(notes);
  process.stderr.write(
    `soak: minting ${SOAK_PRINCIPALS.toLocaleString("en-US")} RS256 tokens...\n`,
  );
  const principals = await mintPrincipals(SOAK_PRINCIPALS);
  notes.push(
    `${SOAK_PRINCIPALS.toLocaleString("en-US")} distinct principals (RS256 tokens, distinct ` +
      `sub) in rotation, verified by jwtVerifier against a JWKS on loopback HTTP; minted in ` +
      `${principals.mintSeconds.toFixed(1)} s on ${principals.workers} worker threads`,
  );
  let child: Child;
  try {
    child = await startJwtServer("toolgate-read", setup.dir, principals);
  } catch (error) {
    await principals.close();
    throw error;
  }
  const c: Contender = {
    spec: SPECS.find((s) => s.name === "toolgate-read")!,
    child,
    processes: [child],
    headers: { ...HEADERS },
    authorizations: principals.authorizations,
    rounds: [],
    errors: 0,
    loadCalls: 0,
    loadRuns: 0,
  };
  const samples: Sample[] = [];
  const gcs: GcPoint[] = [];
  const mb = (bytes: number) => bytes / 2 ** 20;
  const t0 = Date.now();
  const sample = async (gc = false) => {
    const s = await c.child.stats(gc, true);
    if (!s) return;
    const t = (Date.now() - t0) / 1000;
    for (const g of s.majorGcs ?? []) {
      gcs.push({ t: (g.at - t0) / 1000, rssMb: mb(g.rss), heapUsedMb: mb(g.heapUsed) });
    }
    const entry: Sample = {
      t,
      rssMb: mb(s.rss),
      peakRssMb: mb(s.maxRss),
      heapUsedMb: mb(s.heapUsed),
      ...(s.afterGc ? { gcRssMb: mb(s.afterGc.rss), gcHeapUsedMb: mb(s.afterGc.heapUsed) } : {}),
    };
    samples.push(entry);
    process.stderr.write(
      `soak ${t.toFixed(0)} s: RSS ${entry.rssMb.toFixed(1)} MB (peak ${entry.peakRssMb.toFixed(1)}), ` +
        `heap ${entry.heapUsedMb.toFixed(1)} MB` +
        (entry.gcRssMb === undefined
          ? ""
          : `; after a full GC: RSS ${entry.gcRssMb.toFixed(1)} MB, ` +
            `heap ${entry.gcHeapUsedMb?.toFixed(1)} MB`) +
        "\n",
    );
  };
  await sample(true);
  const timer = setInterval(() => void sample(), SOAK_SAMPLE_MS);
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  const rates: number[] = [];
  try {
    for (let done = 0; done < SOAK_S; done += SOAK_SEGMENT_S) {
      const run = await load(c, Math.min(SOAK_SEGMENT_S, SOAK_S - done), CONNECTIONS);
      calls += run.calls;
      errors += run.errors;
      rates.push(run.calls / run.seconds);
      firstError ??= run.firstError;
    }
  } finally {
    clearInterval(timer);
  }
  const loadEnd = (Date.now() - t0) / 1000;
  await sample(true);
  await stopChildren();
  notes.push(`the JWKS was fetched ${principals.jwksFetches()} time(s)`);
  await principals.close();
  removeTempDir(setup.dir);

  const start = samples[0]!;
  const end = samples.at(-1)!;
  const maxRss = Math.max(...samples.map((s) => s.rssMb));
  const peakRss = Math.max(...samples.map((s) => s.peakRssMb));
  // The trend: the last 4 minutes (the first minute, heap sizing to the load, is left
  // out); a shorter soak fits its second half. The heap is still sizing for a while after
  // V8's first full GC: right after the first ones RSS is below where it settles (e.g.
  // 107, 116, 121 MB at 105-107 s, then 136-138 MB for the rest of a run), so a first GC
  // late in the first two minutes read as growth. The window starts SETTLE_S after it.
  const SETTLE_S = 20;
  const settled = gcs.length > 0 ? gcs[0]!.t + SETTLE_S : 0;
  const wantedS = SOAK_S >= TARGETS.soakWindowS + 60 ? TARGETS.soakWindowS : SOAK_S / 2;
  const windowStart = Math.max(loadEnd - wantedS, settled);
  const windowS = Math.max(0, loadEnd - windowStart);
  const window = samples.filter((s) => s.t >= windowStart && s.t <= loadEnd + 1);
  const gcWindow = gcs.filter((g) => g.t >= windowStart && g.t <= loadEnd);
  const gcRssSlope = slope(gcWindow.map((g) => ({ x: g.t / 60, y: g.rssMb })));
  const gcHeapSlope = slope(gcWindow.map((g) => ({ x: g.t / 60, y: g.heapUsedMb })));
  const rssSlope = slope(window.map((s) => ({ x: s.t / 60, y: s.rssMb })));
  // Fewer than 3 points fit no trend worth the name.
  const MIN_GCS = 3;
  const clean = errors === 0;
  const mark = (pass: boolean) => (pass && clean ? "PASS" : clean ? "FAIL" : "FAIL (errors)");
  console.log(
    `\ntoolgate memory soak: toolgate-read (jwtVerifier: ${SOAK_PRINCIPALS.toLocaleString("en-US")} ` +
      `distinct RS256 tokens in rotation; validation, SQLite audit) at ${CONNECTIONS} ` +
      `connections for ${SOAK_S} s, autocannon, Node ${process.version}, ${cpus().length} CPUs\n`,
  );
  console.log(
    `calls: ${calls} (${median(rates).toFixed(0)} calls/s, median per minute), errors: ${errors}`,
  );
  console.log(
    `RSS: start ${start.rssMb.toFixed(1)} MB, end ${end.rssMb.toFixed(1)} MB, max sampled ` +
      `${maxRss.toFixed(1)} MB, peak ${peakRss.toFixed(1)} MB (getrusage; ${samples.length} samples, ` +
      `every ${SOAK_SAMPLE_MS / 1000} s)`,
  );
  const range = (values: number[]) =>
    values.length === 0
      ? "none"
      : `${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)} MB`;
  console.log(
    `full GCs V8 made by itself during the load: ${gcs.length}` +
      (gcs.length > 0 ? ` (the first at ${gcs[0]!.t.toFixed(0)} s)` : "") +
      `; right after them: RSS ${range(gcs.map((g) => g.rssMb))}, heap used ` +
      `${range(gcs.map((g) => g.heapUsedMb))}`,
  );
  console.log(
    `after a forced full GC: RSS ${start.gcRssMb?.toFixed(1)} MB before the load, ` +
      `${end.gcRssMb?.toFixed(1)} MB after it; heap used ${start.gcHeapUsedMb?.toFixed(1)} -> ` +
      `${end.gcHeapUsedMb?.toFixed(1)} MB`,
  );
  console.log(
    `slope over the last ${windowS.toFixed(0)} s of load (least squares, MB/min): RSS after ` +
      `GC ${gcRssSlope.toFixed(2)}, heap used after GC ${gcHeapSlope.toFixed(2)} ` +
      `(${gcWindow.length} full GCs), raw RSS ${rssSlope.toFixed(2)}`,
  );
  const maxPass = peakRss < TARGETS.soakMaxRssMb;
  const slopePass = gcWindow.length >= MIN_GCS && gcRssSlope < TARGETS.soakSlopeMbPerMin;
  if (gcWindow.length < MIN_GCS) {
    notes.push(
      `only ${gcWindow.length} full GC(s) in the trend window: no trend can be fitted (FAIL); ` +
        `run a longer soak`,
    );
  }
  console.log(`peak RSS < ${TARGETS.soakMaxRssMb} MB: ${mark(maxPass)}`);
  console.log(
    `no growth trend (RSS after full GCs grows < ${TARGETS.soakSlopeMbPerMin} MB/min over the last ` +
      `${windowS.toFixed(0)} s): ${mark(slopePass)}`,
  );
  if (windowS < wantedS) {
    notes.push(
      `the trend starts ${SETTLE_S} s after V8's first full GC (at ${gcs[0]!.t.toFixed(0)} s), ` +
        `when the heap has sized to the load: ${windowS.toFixed(0)} s instead of ${wantedS.toFixed(0)}`,
    );
  }
  if (SOAK_S < TARGETS.soakWindowS + 60) {
    notes.push(
      `a soak shorter than ${TARGETS.soakWindowS + 60} s fits the trend over its second half; ` +
        `run --soak=300 for the target's definition`,
    );
  }
  if (firstError !== undefined) notes.push(`first error: ${firstError}`);
  serverLogNotes(notes);
  for (const note of notes) console.log(`note: ${note}`);
  const file = resultFile("perf-soak");
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        bench: "performance-soak",
        ...environment(),
        settings: {
          soakS: SOAK_S,
          principals: SOAK_PRINCIPALS,
          mintS: principals.mintSeconds,
          connections: CONNECTIONS,
          sampleMs: SOAK_SAMPLE_MS,
          nodeFlags: EXTRA_NODE_FLAGS,
        },
        targets: TARGETS,
        calls,
        errors,
        ratesPerMinute: rates,
        samples,
        majorGcs: gcs,
        rss: { startMb: start.rssMb, endMb: end.rssMb, maxSampledMb: maxRss, peakMb: peakRss },
        slopeMbPerMin: {
          rssAfterGc: gcRssSlope,
          heapUsedAfterGc: gcHeapSlope,
          rss: rssSlope,
          windowS,
          fullGcsInWindow: gcWindow.length,
        },
        verdicts: { peakRss: mark(maxPass), growth: mark(slopePass) },
        notes,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults: ${path.relative(ROOT, file)}`);
}

try {
  if (SOAK) {
    await soak();
  } else {
    const scale = scaleSelection();
    if (!scale.only) await compare();
    await runScale(scale);
  }
} catch (error) {
  if (!wasInterrupted()) {
    console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
} finally {
  await shutdown();
}
