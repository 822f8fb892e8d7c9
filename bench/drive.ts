// Load and single calls for `npm run bench`: autocannon runs against one server URL with
// per-request bodies and headers (the comparison's, the soak's and the scale curves'),
// checked single calls (fetch), and the statistics all of them report.
import autocannon from "autocannon";
import { trackRun, type Child } from "./children.js";
import type { ChildStats } from "./perf-shared.js";

export const HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};
const CALL_TIMEOUT_MS = 10_000;

let rpcId = 0;
/** Every call has its own JSON-RPC id (one session must not see two requests with one id). */
export const nextRpcId = () => ++rpcId;

/** The JSON-RPC message of a response, whether sent as JSON or as SSE events. */
export function parseMessage(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return JSON.parse(trimmed);
  const data = trimmed
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
    .filter((l) => l.startsWith("{"));
  return JSON.parse(data.at(-1) ?? "");
}

/** What a load-run response body must be: a tool result, not an error. */
export const goodBody = (body: string) =>
  body.includes('"result"') && !body.includes('"isError":true') && !body.includes('"error":');

export interface RpcResponse {
  status: number;
  text: string;
  headers: Headers;
  message?: { result?: { isError?: boolean; _meta?: Record<string, unknown> }; error?: unknown };
}

export async function post(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<RpcResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  let message: RpcResponse["message"];
  try {
    message = text.trim() ? (parseMessage(text) as RpcResponse["message"]) : undefined;
  } catch {
    message = undefined;
  }
  return { status: res.status, text, headers: res.headers, ...(message ? { message } : {}) };
}

/** One call that must be a tool result: undefined if it is, else what came back. */
export async function callProblem(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<string | undefined> {
  try {
    const res = await post(url, headers, body);
    const result = res.message?.result;
    if (res.status === 200 && result && result.isError !== true && goodBody(res.text)) return;
    return `HTTP ${res.status} ${res.text.slice(0, 300)}`;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  /** Per-response times (ms) of the 2xx responses, sorted. */
  latencies: Float64Array;
  histogramP50: number;
  histogramP99: number;
  firstError?: string;
}

/** What a request can be given by `setup`: its body and its own headers. */
export interface RequestParts {
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface DriveOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  /** Headers of every request (`setup` may add to a request's own copy). */
  readonly headers: Readonly<Record<string, string>>;
  /** Fills in each request (body, Idempotency-Key, Authorization). */
  readonly setup: (request: RequestParts) => void;
  /** Whether a 2xx body is a good answer (default goodBody); a bad one counts as an error. */
  readonly good?: (body: string) => boolean;
}

/**
 * `seconds` of autocannon at `connections` against `url`. p50/p99 come from the
 * per-response times (µs resolution); autocannon's own histogram holds whole milliseconds.
 */
export function drive(options: DriveOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const good = options.good ?? goodBody;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let badBodies = 0;
  let firstError: string | undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: url.origin,
        connections: options.connections,
        duration: options.seconds,
        timeout: CALL_TIMEOUT_MS / 1000,
        requests: [
          {
            method: "POST",
            path: url.pathname,
            headers: { ...options.headers },
            setupRequest: (request) => {
              options.setup(request as RequestParts);
              return request;
            },
            onResponse: (status, body) => {
              if (status >= 200 && status < 300 && good(body)) return;
              if (status >= 200 && status < 300) badBodies += 1;
              firstError ??= `HTTP ${status} ${body.slice(0, 300)}`;
            },
          },
        ],
      },
      (error, result) => {
        trackRun(undefined);
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const all = latencies.subarray(0, count).sort();
        resolve({
          calls: result.requests.total,
          errors: result.non2xx + result.errors + badBodies,
          seconds: result.duration,
          latencies: all,
          histogramP50: result.latency.p50,
          histogramP99: result.latency.p99,
          ...(firstError === undefined
            ? result.errors > 0
              ? { firstError: `${result.errors} connection errors/timeouts` }
              : {}
            : { firstError }),
        });
      },
    );
    trackRun(instance);
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status < 200 || status >= 300) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    });
  });
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}
export const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const cpuOf = (s: ChildStats | undefined) => (s ? s.cpu.user + s.cpu.system : Number.NaN);

/** A run and the CPU the server processes spent on it (user + system, µs). */
export async function withCpu<T>(
  processes: readonly Child[],
  run: () => Promise<T>,
): Promise<{ result: T; cpuUs: number[]; after: (ChildStats | undefined)[] }> {
  const before = await Promise.all(processes.map((p) => p.stats()));
  const result = await run();
  const after = await Promise.all(processes.map((p) => p.stats()));
  return { result, cpuUs: processes.map((_, i) => cpuOf(after[i]) - cpuOf(before[i])), after };
}
