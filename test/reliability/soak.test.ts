// Soak: a toolgate server child (dev-issuer JWTs, scopes, validation, idempotent writes on
// SQLite, the audit log on SQLite; run with --expose-gc) under mixed load for ~50 s (CI)
// or 5 minutes (--full), from keep-alive connections:
//
// - reads (each answer must name the caller and echo the nonce),
// - new writes with fresh idempotency keys (must run, not replay),
// - replays of a principal's earlier keys (must return the stored result: same run id),
// - refusals, each of which must be exactly the expected one: no token (401 with a Bearer
//   challenge), a tampered token (401 error="invalid_token"), a token without the write
//   scope (`forbidden`), invalid arguments (`invalid_input`), a write without a key
//   (`invalid_input`).
//
// Any other answer is an error (the error rate must be 0). Every body is checked for
// stack traces, source paths and the token, and every success for the caller's subject.
// The child's RSS is sampled every few seconds, each time after a forced full GC; p99,
// the error rate and RSS are reported at the start (after warm-up) and at the end.
// No growth trend: the least-squares slope of post-GC RSS over the second half must stay
// under a bound (see SLOPE_BOUND_MB_PER_MIN), so must that of the post-GC JS heap, and the
// peak RSS (getrusage) must stay under 300 MB.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { devIssuer, type DevIssuer } from "../../src/index.js";
import { PROFILE, byProfile, report } from "./summary.js";
import {
  Examples,
  McpLoadClient,
  errorLogLines,
  isInvalidTokenChallenge,
  isReplay,
  leakIn,
  percentile,
  slope,
  sleep,
  startServerChild,
  successContent,
  toolErrorType,
  type CallOutcome,
  type ServerChild,
} from "./fixtures/auth-harness.js";
import type { ChildStats } from "./fixtures/auth-shared.js";
import {
  SOAK_READ_SCOPE,
  SOAK_READ_TOOL,
  SOAK_WRITE_SCOPE,
  SOAK_WRITE_TOOL,
  type SoakServerConfig,
} from "./fixtures/soak-shared.js";

const DURATION_MS = byProfile(60_000, 300_000);
/** Left out of the start figures: JIT warm-up, heap sizing to the load, SQLite caches. */
const WARMUP_MS = byProfile(15_000, 30_000);
/** The p99 windows at the start (right after warm-up) and at the end. */
const P99_WINDOW_MS = byProfile(10_000, 30_000);
/** One RSS sample (after a full GC in the child) this often. */
const SAMPLE_MS = byProfile(2_000, 5_000);
const WORKERS = 10;
const PRINCIPALS = 8;
/** Tokens are re-minted this often (dev tokens are short-lived; agents refresh). */
const TOKEN_REFRESH_MS = 60_000;
const PEAK_RSS_BOUND_MB = 300;
/**
 * Bound on the least-squares slope of post-GC RSS over the second half of the run.
 * Full profile (150 s, 30 samples): 2 MB/min, the issue's target; at the 1000-3000 calls/s
 * this load makes on 2 shared cores, a server keeping more than 12-35 bytes per call fails
 * it. The 5-minute run shows why a short run cannot use it: native memory outside the V8
 * heap (malloc arenas and fragmentation; the post-GC heap, committed heap and `external`
 * stay flat) climbs by 30-40 MB over the first ~100 000 calls, then holds (203-205 MB from
 * 40 s to 300 s in the full run). The CI run (60 s, 2000 calls/s) is still on that climb in
 * its second half: 9-20 MB/min observed with no leak. So CI gets 40 MB/min, which fails a
 * native leak of ~400 bytes per call and more; the post-GC JS heap bound below is the tight
 * check in CI, and the full profile is the real soak.
 */
const SLOPE_BOUND_MB_PER_MIN = byProfile(40, 2);
/**
 * Bound on the slope of the post-GC JS heap over the second half: what JavaScript keeps
 * (maps, caches, listeners), measured exactly after a full GC, without the allocator's
 * noise. Observed: +-0.3 MB/min in CI. 3 MB/min in CI (15 samples), 1 MB/min in full.
 */
const HEAP_SLOPE_BOUND_MB_PER_MIN = byProfile(3, 1);
/** A soak p99 that reaches this is a server in trouble, not a busy shared CPU. */
const P99_BOUND_MS = 2_000;
const TEST_TIMEOUT_MS = DURATION_MS + 120_000;

const SERVER_SCRIPT = fileURLToPath(new URL("./fixtures/soak-server.ts", import.meta.url));
const mb = (bytes: number) => bytes / 2 ** 20;

interface Tokens {
  /** soak:read and soak:write. */
  full: string;
  /** soak:read only: a write is `forbidden`. */
  readOnly: string;
  /** `full` with its signature altered: a 401 `invalid_token`. */
  tampered: string;
}

interface SoakPrincipal {
  readonly sub: string;
  tokens: Tokens;
  /** Completed writes of this principal (bounded), for replays. */
  readonly writes: { key: string; note: string; runId: string }[];
}

interface Sample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly rssMb: number;
  readonly gcRssMb: number;
  readonly gcHeapMb: number;
  readonly gcHeapTotalMb: number;
  readonly gcExternalMb: number;
  readonly peakRssMb: number;
  readonly cpuUs: number;
}

type Kind =
  | "read"
  | "write"
  | "replay"
  | "no-token"
  | "bad-token"
  | "missing-scope"
  | "invalid-input"
  | "no-key";

let dir: string;
let issuer: DevIssuer;
let child: ServerChild;
let client: McpLoadClient;

/** Same length, one character of the signature changed (not the last: its low bits are padding). */
function tamper(token: string): string {
  const at = token.lastIndexOf(".") + 10;
  const replacement = token[at] === "A" ? "B" : "A";
  return `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`;
}

async function mintTokens(sub: string): Promise<Tokens> {
  const audience = child.url.href;
  const [full, readOnly] = await Promise.all([
    issuer.mint({ sub, scope: [SOAK_READ_SCOPE, SOAK_WRITE_SCOPE], audience, ttlSec: 900 }),
    issuer.mint({ sub, scope: [SOAK_READ_SCOPE], audience, ttlSec: 900 }),
  ]);
  return { full, readOnly, tampered: tamper(full) };
}

describe("soak: mixed load, no growth", { timeout: TEST_TIMEOUT_MS }, () => {
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-soak-"));
    const keyFile = path.join(dir, "dev-issuer.json");
    issuer = await devIssuer({ keyFile });
    const config: SoakServerConfig = {
      keyFile,
      storeFile: path.join(dir, "store.sqlite"),
      auditFile: path.join(dir, "audit.sqlite"),
    };
    child = await startServerChild(
      SERVER_SCRIPT,
      { ...config },
      {
        nodeFlags: ["--expose-gc"],
        env: { TOOLGATE_DATA_DIR: path.join(dir, "data") },
      },
    );
    client = new McpLoadClient(child.url, WORKERS);
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await child?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it(`holds error rate 0, p99 and RSS steady for ${DURATION_MS / 1000} s (${PROFILE})`, async () => {
    const suffix = randomUUID().slice(0, 8);
    const principals: SoakPrincipal[] = await Promise.all(
      Array.from({ length: PRINCIPALS }, async (_, i) => {
        const sub = `soak-${i}-${suffix}`;
        return { sub, tokens: await mintTokens(sub), writes: [] };
      }),
    );

    let calls = 0;
    let checks = 0;
    let leaks = 0;
    let refusals = 0;
    let expectedSuccesses = 0;
    const byKind = new Map<Kind, number>();
    const errors = new Examples();
    const leakExamples = new Examples();
    /** [seconds since start, latency ms] of every answered call. */
    const latencies: [number, number][] = [];
    let stop = false;
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;

    const leak = (what: string) => {
      leaks += 1;
      leakExamples.add(what);
    };

    /** Transport, status class, leaks; true when there is an answer to judge. */
    function answered(kind: Kind, outcome: CallOutcome, token: string | undefined): boolean {
      calls += 1;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      if (outcome.failure !== undefined) {
        errors.add(`${kind}: no answer (${outcome.failure})`);
        return false;
      }
      latencies.push([elapsed(), outcome.ms]);
      checks += 1;
      const leaked = leakIn(outcome.body, ...(token === undefined ? [] : [token]));
      if (leaked !== undefined)
        leak(
          `${kind}: ${leaked === token ? "<the token>" : leaked} in ${outcome.body.slice(0, 300)}`,
        );
      return true;
    }

    /** A call that must succeed: its structured content, or undefined (counted as an error). */
    function success(kind: Kind, outcome: CallOutcome, token: string, sub: string) {
      expectedSuccesses += 1;
      if (!answered(kind, outcome, token)) return undefined;
      const content = successContent(outcome);
      checks += 1;
      if (!content) {
        errors.add(
          `${kind}: HTTP ${outcome.status} ${toolErrorType(outcome) ?? ""} ${outcome.body.slice(0, 300)}`,
        );
        return undefined;
      }
      checks += 1;
      if (content["subject"] !== sub)
        leak(`${kind} by ${sub} answered for ${String(content["subject"])}`);
      return content;
    }

    /** A call that must be refused exactly so. */
    function refusal(
      kind: Kind,
      outcome: CallOutcome,
      token: string | undefined,
      expected: (o: CallOutcome) => boolean,
    ) {
      if (!answered(kind, outcome, token)) return;
      refusals += 1;
      checks += 1;
      if (!expected(outcome)) {
        errors.add(
          `${kind}: not the expected refusal: HTTP ${outcome.status} ${outcome.wwwAuthenticate ?? ""} ${outcome.body.slice(0, 300)}`,
        );
      }
    }

    async function operate(p: SoakPrincipal): Promise<void> {
      const { tokens } = p;
      const roll = Math.random();
      if (roll < 0.4) {
        const nonce = randomUUID();
        const id = `ITEM-${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`;
        const token = Math.random() < 0.5 ? tokens.full : tokens.readOnly;
        const outcome = await client.call(SOAK_READ_TOOL, { id, nonce }, { token });
        const content = success("read", outcome, token, p.sub);
        checks += content ? 2 : 0;
        if (content && (content["nonce"] !== nonce || content["id"] !== id))
          leak(`read by ${p.sub}: ${JSON.stringify(content)} for id ${id}, nonce ${nonce}`);
        return;
      }
      const replayOf =
        roll < 0.58
          ? undefined
          : roll < 0.73
            ? p.writes[Math.floor(Math.random() * p.writes.length)]
            : undefined;
      if (roll < 0.73) {
        const op = replayOf ?? { key: randomUUID(), note: randomUUID(), runId: "" };
        const kind: Kind = replayOf ? "replay" : "write";
        const outcome = await client.call(
          SOAK_WRITE_TOOL,
          { note: op.note },
          { token: tokens.full, idempotencyKey: op.key },
        );
        const content = success(kind, outcome, tokens.full, p.sub);
        if (!content) return;
        checks += 3;
        if (content["note"] !== op.note)
          leak(`${kind} by ${p.sub}: note ${String(content["note"])}`);
        const runId = content["runId"];
        if (typeof runId !== "string") return errors.add(`${kind}: no run id`);
        if (replayOf) {
          if (!isReplay(outcome)) errors.add(`replay: not flagged as a replay`);
          if (runId !== replayOf.runId)
            errors.add(`replay: run ${runId}, the first answer was run ${replayOf.runId}`);
        } else {
          if (isReplay(outcome)) errors.add(`write: a fresh key was answered as a replay`);
          p.writes.push({ key: op.key, note: op.note, runId });
          if (p.writes.length > 100) p.writes.shift();
        }
        return;
      }
      const which = Math.floor(Math.random() * 5);
      const nonce = randomUUID();
      if (which === 0) {
        const outcome = await client.call(SOAK_READ_TOOL, { id: "ITEM-0001", nonce });
        refusal(
          "no-token",
          outcome,
          undefined,
          (o) =>
            o.status === 401 &&
            /^Bearer resource_metadata="/.test(o.wwwAuthenticate ?? "") &&
            !(o.wwwAuthenticate ?? "").includes("error="),
        );
      } else if (which === 1) {
        const outcome = await client.call(
          SOAK_READ_TOOL,
          { id: "ITEM-0001", nonce },
          { token: tokens.tampered },
        );
        refusal("bad-token", outcome, tokens.tampered, isInvalidTokenChallenge);
      } else if (which === 2) {
        const outcome = await client.call(
          SOAK_WRITE_TOOL,
          { note: nonce },
          { token: tokens.readOnly, idempotencyKey: randomUUID() },
        );
        refusal("missing-scope", outcome, tokens.readOnly, (o) => toolErrorType(o) === "forbidden");
      } else if (which === 3) {
        const outcome = await client.call(
          SOAK_READ_TOOL,
          { id: "item-one", nonce },
          { token: tokens.full },
        );
        refusal("invalid-input", outcome, tokens.full, (o) => toolErrorType(o) === "invalid_input");
      } else {
        const outcome = await client.call(SOAK_WRITE_TOOL, { note: nonce }, { token: tokens.full });
        refusal("no-key", outcome, tokens.full, (o) => toolErrorType(o) === "invalid_input");
      }
    }

    // RSS (after a full GC in the child) every SAMPLE_MS while the load runs.
    const samples: Sample[] = [];
    const takeSample = async () => {
      const s: ChildStats | undefined = await child.stats(true);
      if (!s) return errors.add("the server child did not answer a stats request");
      samples.push({
        t: elapsed(),
        rssMb: mb(s.rss),
        gcRssMb: mb(s.afterGc?.rss ?? Number.NaN),
        gcHeapMb: mb(s.afterGc?.heapUsed ?? Number.NaN),
        gcHeapTotalMb: mb(s.afterGc?.heapTotal ?? Number.NaN),
        gcExternalMb: mb(s.afterGc?.external ?? Number.NaN),
        peakRssMb: mb(s.maxRss),
        cpuUs: s.cpu.user + s.cpu.system,
      });
    };
    const sampler = (async () => {
      for (let next = SAMPLE_MS; !stop; next += SAMPLE_MS) {
        await sleep(next - elapsed() * 1000);
        if (!stop) await takeSample();
      }
    })();
    const refresher = (async () => {
      for (let next = TOKEN_REFRESH_MS; !stop; next += TOKEN_REFRESH_MS) {
        while (!stop && elapsed() * 1000 < next) await sleep(250);
        if (stop) break;
        await Promise.all(principals.map(async (p) => (p.tokens = await mintTokens(p.sub))));
      }
    })();
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; !stop; i += 1) {
        const p = principals[(w + i) % PRINCIPALS]!;
        try {
          await operate(p);
        } catch (error) {
          errors.add(`worker: ${(error as Error).stack ?? String(error)}`);
          await sleep(50);
        }
      }
    });
    await takeSample();
    await sleep(DURATION_MS);
    stop = true;
    await Promise.all([...workers, sampler, refresher]);
    const seconds = elapsed();

    // Figures.
    const afterWarmup = samples.filter((s) => s.t * 1000 >= WARMUP_MS);
    const start = afterWarmup[0] ?? samples[0]!;
    const end = samples.at(-1)!;
    const secondHalf = samples.filter((s) => s.t >= seconds / 2);
    const slopeMbPerMin = slope(secondHalf.map((s) => ({ x: s.t / 60, y: s.gcRssMb })));
    const heapSlopeMbPerMin = slope(secondHalf.map((s) => ({ x: s.t / 60, y: s.gcHeapMb })));
    const rawSlopeMbPerMin = slope(secondHalf.map((s) => ({ x: s.t / 60, y: s.rssMb })));
    const peakRssMb = Math.max(...samples.map((s) => s.peakRssMb));
    const window = P99_WINDOW_MS / 1000;
    const warm = WARMUP_MS / 1000;
    const p99Of = (from: number, to: number) =>
      percentile(
        latencies.filter(([t]) => t >= from && t < to).map(([, ms]) => ms),
        0.99,
      );
    const p99StartMs = p99Of(warm, warm + window);
    const p99EndMs = p99Of(seconds - window, seconds + 1);
    const failures = errors.count;
    const errorRate = calls === 0 ? Number.NaN : failures / calls;
    const cpuUsPerCall =
      (end.cpuUs - samples[0]!.cpuUs) / Math.max(1, calls * ((end.t - samples[0]!.t) / seconds));
    const growing =
      !(slopeMbPerMin < SLOPE_BOUND_MB_PER_MIN) ||
      !(heapSlopeMbPerMin < HEAP_SLOPE_BOUND_MB_PER_MIN);

    report(
      "soak",
      "mixed",
      { calls, cases: checks, leaks: leaks + (growing ? 1 : 0) },
      {
        seconds,
        errorRate,
        p99StartMs,
        p99EndMs,
        rssStartMb: start.gcRssMb,
        rssEndMb: end.gcRssMb,
        slopeMbPerMin,
        slopeBoundMbPerMin: SLOPE_BOUND_MB_PER_MIN,
        heapSlopeMbPerMin,
        heapSlopeBoundMbPerMin: HEAP_SLOPE_BOUND_MB_PER_MIN,
        rawRssSlopeMbPerMin: rawSlopeMbPerMin,
        heapStartMb: start.gcHeapMb,
        heapEndMb: end.gcHeapMb,
        peakRssMb,
        callsPerSec: calls / seconds,
        cpuUsPerCall,
        refusals,
        samples: samples.length,
      },
    );
    process.stderr.write(
      `soak calls by kind: ${JSON.stringify(Object.fromEntries(byKind))}\n` +
        `soak samples (s: post-GC RSS / heap used / heap total / external, MB): ${samples
          .map(
            (s) =>
              `${s.t.toFixed(0)}: ${s.gcRssMb.toFixed(1)}/${s.gcHeapMb.toFixed(1)}/${s.gcHeapTotalMb.toFixed(1)}/${s.gcExternalMb.toFixed(1)}`,
          )
          .join(", ")}\n`,
    );

    assert.equal(failures, 0, `${failures} unexpected answers:\n${errors.toString()}`);
    assert.equal(leaks, 0, `leaks:\n${leakExamples.toString()}`);
    assert.ok(expectedSuccesses > 0 && refusals > 0, "both successes and refusals were exercised");
    for (const kind of [
      "read",
      "write",
      "replay",
      "no-token",
      "bad-token",
      "missing-scope",
      "invalid-input",
      "no-key",
    ] as const)
      assert.ok((byKind.get(kind) ?? 0) > 0, `${kind} calls were made`);
    assert.ok(secondHalf.length >= 5, `enough samples for a trend (${secondHalf.length})`);
    assert.ok(
      peakRssMb < PEAK_RSS_BOUND_MB,
      `peak RSS ${peakRssMb.toFixed(1)} MB (bound ${PEAK_RSS_BOUND_MB} MB)`,
    );
    assert.ok(
      slopeMbPerMin < SLOPE_BOUND_MB_PER_MIN,
      `post-GC RSS grows ${slopeMbPerMin.toFixed(2)} MB/min over the second half (bound ${SLOPE_BOUND_MB_PER_MIN})`,
    );
    assert.ok(
      heapSlopeMbPerMin < HEAP_SLOPE_BOUND_MB_PER_MIN,
      `post-GC heap grows ${heapSlopeMbPerMin.toFixed(2)} MB/min over the second half (bound ${HEAP_SLOPE_BOUND_MB_PER_MIN})`,
    );
    assert.ok(p99EndMs < P99_BOUND_MS, `p99 at the end ${p99EndMs.toFixed(1)} ms`);
    assert.deepEqual(errorLogLines(child.stderr()), [], "no error logged by the server");
  });
});
