import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SinkStatus } from "../audit/auditor.js";
import type { AuditOutcome, IdempotencyDisposition } from "../audit/event.js";

/**
 * The breaker states metrics can plot. Spelled here, not imported from backends/: backends
 * call into observability (runBackendCall), so observability reads nothing of backends (no
 * loop between the two folders). The server hands backends' states in, so a state added
 * there without a value here fails to compile at that call.
 */
type BreakerState = "closed" | "half-open" | "open";

export interface MetricsOptions {
  /** Serve Prometheus text at this path of the HTTP listener. Default `/metrics`. */
  path?: string;
  /** A prom-client registry to add toolgate's metrics to. Default: a registry of this server's own. */
  registry?: Registry;
  /** Also export Node process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
}

export interface ToolMetrics {
  readonly registry: Registry;
  readonly path: string;
  callFinished(
    tool: string,
    outcome: AuditOutcome,
    seconds: number,
    idempotency?: IdempotencyDisposition,
  ): void;
  authRefused(status: number): void;
  auditDropped(sink: string, count: number): void;
  /** Prometheus exposition text. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Starts process metrics (once; they sample the event loop, so only servers that listen pay for them). */
  startProcessMetrics(): void;
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, "half-open": 1, open: 2 };

// Tool calls are milliseconds to seconds; the top bucket is past the default deadline.
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * The server's Prometheus metrics. Label values are bounded: tools are the registered
 * names (anything else is `(unknown)`), outcomes the contract's types, so a caller
 * cannot grow the series by inventing tool names.
 */
export function createMetrics(
  options: MetricsOptions,
  auditStatus: () => readonly SinkStatus[],
  backendStates: () => readonly { name: string; state: BreakerState }[] = () => [],
): ToolMetrics {
  const path = options.path ?? "/metrics";
  if (typeof path !== "string" || !path.startsWith("/"))
    throw new TypeError("metrics.path must be a string starting with '/'.");
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const calls = new Counter({
    name: "toolgate_tool_calls_total",
    help: "Tool calls by tool and outcome (ok, an error type, or tool_error).",
    labelNames: ["tool", "outcome"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "toolgate_tool_call_duration_seconds",
    help: "Time from receiving a tool call to answering it.",
    labelNames: ["tool"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const replays = new Counter({
    name: "toolgate_idempotent_replays_total",
    help: "Write calls answered from a stored result instead of running again.",
    labelNames: ["tool"] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: "toolgate_rate_limited_total",
    help: "Tool calls refused as rate_limited.",
    labelNames: ["tool"] as const,
    registers,
  });
  const authRefusals = new Counter({
    name: "toolgate_http_auth_refusals_total",
    help: "HTTP requests refused before any tool ran (no, bad or expired token; step-up).",
    labelNames: ["status"] as const,
    registers,
  });
  const dropped = new Counter({
    name: "toolgate_audit_dropped_total",
    help: "Audit events dropped because a sink's buffer was full or it was down at shutdown.",
    labelNames: ["sink"] as const,
    registers,
  });
  new Gauge({
    name: "toolgate_audit_buffered_events",
    help: "Audit events waiting to be written, per sink.",
    labelNames: ["sink"] as const,
    registers,
    collect() {
      for (const s of auditStatus()) this.set({ sink: s.name }, s.buffered);
    },
  });
  new Gauge({
    name: "toolgate_audit_sink_healthy",
    help: "1 while an audit sink is writing, 0 after a failed write until it recovers.",
    labelNames: ["sink"] as const,
    registers,
    collect() {
      for (const s of auditStatus()) this.set({ sink: s.name }, s.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "toolgate_backend_breaker_state",
    help: "Circuit breaker of each backend: 0 closed, 1 half-open (trying), 2 open (calls refused).",
    labelNames: ["backend"] as const,
    registers,
    collect() {
      for (const b of backendStates()) this.set({ backend: b.name }, BREAKER_VALUE[b.state]);
    },
  });
  let processMetrics = options.processMetrics ?? true;
  return {
    registry,
    path,
    callFinished(tool, outcome, seconds, idempotency) {
      calls.inc({ tool, outcome });
      duration.observe({ tool }, seconds);
      if (idempotency === "replayed") replays.inc({ tool });
      if (outcome === "rate_limited") rateLimited.inc({ tool });
    },
    authRefused: (status) => authRefusals.inc({ status: String(status) }),
    auditDropped: (sink, count) => dropped.inc({ sink }, count),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    startProcessMetrics() {
      if (!processMetrics) return;
      processMetrics = false;
      collectDefaultMetrics({ register: registry });
    },
  };
}
