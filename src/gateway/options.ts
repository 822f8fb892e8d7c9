// What `createGateway` accepts: the programmatic form of `toolgate.yaml`. The YAML loader
// (src/gateway/config/) turns a config file into exactly this, with real verifier, store,
// sink and credential objects, so the file and the code API cannot drift apart.
import type { AuditOptions } from "../audit/options.js";
import type { AuthOption } from "../auth/auth-options.js";
import type { CredentialProvider } from "../backends/credential.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import type { Logger } from "../log/logger.js";
import type { MetricsOptions } from "../observability/metrics.js";
import type { RateLimitOptions } from "../tool/rate-limit-options.js";
import type { HttpOptions } from "../server/http-server.js";
import type { SideEffect } from "../tool/types.js";

/** An upstream MCP server started as a child process and spoken to over stdio. */
export interface StdioUpstream {
  readonly command: string;
  readonly args?: readonly string[];
  /**
   * The child's environment: these variables only, plus PATH, HOME and the like the SDK
   * passes by default. The gateway's own secrets are not inherited.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Working directory of the child. Default: the gateway's; a config file loaded with
   * loadGatewayConfig sets it to the file's directory, so relative args resolve there.
   */
  readonly cwd?: string;
}

/** Policy for one upstream tool (or, under `defaults`, for all tools of an upstream). */
export interface ToolPolicy {
  /** Scopes the caller's token must carry. Default []: any authenticated caller. */
  readonly scopes?: readonly string[];
  /**
   * "write" tools need an idempotency key and are forwarded at most once per key.
   * Default: "read" when the upstream marks the tool `readOnlyHint: true`, else "write"
   * (an upstream's hint may only make a tool stricter, never looser).
   */
  readonly sideEffect?: SideEffect;
  /** Deadline of one call, milliseconds. Default: the upstream's `timeoutMs`. */
  readonly timeoutMs?: number;
  /** Budgets for this tool (`{ perPrincipal: "10/min" }`), on top of the gateway's. */
  readonly rateLimit?: RateLimitOptions;
  /** Not listed and not callable through the gateway. */
  readonly hidden?: boolean;
  /** Argument names (any depth) whose values the audit log replaces with "[REDACTED]". */
  readonly redact?: readonly string[];
  /** Replaces the upstream's description (what the model reads). Pinning still checks the upstream's. */
  readonly description?: string;
}

export interface UpstreamOptions {
  /** Exactly one of `stdio` and `url`. */
  readonly stdio?: StdioUpstream;
  /** A Streamable HTTP MCP endpoint (http or https). */
  readonly url?: string;
  /**
   * HTTP only: the gateway's own credential at this upstream (staticCredential,
   * clientCredentials, tokenExchange). The caller's token is never passed through.
   */
  readonly credential?: CredentialProvider;
  /**
   * HTTP with a token-exchange credential: the credential used for initialize and
   * tools/list, which no user makes. Default: `credential` (fine for static and client
   * credentials).
   */
  readonly discoveryCredential?: CredentialProvider;
  /** Tools are published as `<prefix>.<tool>`. Default: the upstream's key in `upstreams`. */
  readonly prefix?: string;
  /** Default deadline of this upstream's tools, milliseconds. Default: the gateway's (30 000). */
  readonly timeoutMs?: number;
  /** Bound on starting and initializing the upstream, milliseconds. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Restart backoff after the upstream exits or drops: first and longest delay, ms. */
  readonly restart?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Bound on one answer of this upstream, bytes. A larger answer is dropped as it streams
   * and the call fails with `invalid_input` (ask for less). Default: the gateway's
   * `maxResultBytes` (4 MiB). On stdio it bounds every message the server sends.
   */
  readonly maxResultBytes?: number;
  /**
   * Pass the upstream's error texts (JSON-RPC error messages, `isError` results, typed
   * error messages) through the audit log's secret detectors before the model sees them.
   * Default true.
   */
  readonly redactErrors?: boolean;
  /**
   * Whether the upstream deduplicates writes by the key the gateway sends in
   * `_meta["toolgate/idempotency-key"]` (and keeps its records across its restarts), so
   * that resending a write whose answer was lost is safe. Default: detected per tool (a
   * toolgate write tool that takes keys: `_meta["toolgate/sideEffect"]: "write"` and
   * `idempotentHint: true`); `false` never assumes it.
   */
  readonly honoursIdempotencyKey?: boolean;
  /** Policy applied to every tool of this upstream (a tool's own entry overrides it). */
  readonly defaults?: ToolPolicy;
  /** Policy per upstream tool name (the upstream's name, without the prefix). */
  readonly tools?: Readonly<Record<string, ToolPolicy>>;
}

export interface PinningOptions {
  /**
   * The lock file pinning every upstream tool's contract (the format of `toolgate contract`).
   * Created on the first run; a tool whose upstream contract differs from it is quarantined
   * until `toolgate contract approve`. Default `toolgate.lock.json` in the working directory.
   */
  readonly lockFile?: string;
  /** How often upstreams are asked for tools/list to catch changes, ms. Default 60 000. */
  readonly refreshIntervalMs?: number;
}

export interface GatewayOptions {
  /** Server name in `initialize`. Default "toolgate-gateway". */
  readonly name?: string;
  readonly version?: string;
  readonly upstreams: Readonly<Record<string, UpstreamOptions>>;
  /** Who may call (as `createToolServer`'s `auth`). Without it calls are anonymous. */
  readonly auth?: AuthOption;
  /** Idempotency records and rate-limit budgets. Default: SQLite in `dataDir`. */
  readonly store?: IdempotencyStore;
  /**
   * Where the default SQLite store and audit log go when `store` or `audit.sinks` are not
   * given (created at startup, mode 0700). Default: the library's, `$TOOLGATE_DATA_DIR` or
   * else `.toolgate` in the working directory; loadGatewayConfig sets `.toolgate` beside
   * the config file (or `$TOOLGATE_DATA_DIR` when that is set).
   */
  readonly dataDir?: string;
  readonly audit?: AuditOptions | false;
  readonly metrics?: MetricsOptions | false;
  readonly rateLimit?: RateLimitOptions;
  readonly http?: HttpOptions;
  readonly logger?: Logger;
  /** Deadline of tools whose upstream and policy set none. Default 30 000 ms. */
  readonly defaultTimeoutMs?: number;
  /** Bound on one answer of an upstream, bytes, unless the upstream sets its own. Default 4 MiB. */
  readonly maxResultBytes?: number;
  /** Contract pinning; `false` turns it off (not recommended: see docs/gateway.md). */
  readonly pinning?: PinningOptions | false;
}
