// What bench/performance.ts and its server children (bench/perf-server.ts) share. Kept
// apart because perf-server.ts starts a server when loaded.

export type PerfServerConfig =
  /** No MCP: node:http answering the same JSON-RPC result. */
  | { readonly kind: "node-http" }
  /** @modelcontextprotocol/sdk v1, a new McpServer + transport per request. */
  | { readonly kind: "sdk1-stateless" }
  /** @modelcontextprotocol/sdk v1, sessions (the bench initializes one and reuses it). */
  | { readonly kind: "sdk1-stateful" }
  /** @modelcontextprotocol/server v2: createMcpHandler + the node adapter, as toolgate uses. */
  | { readonly kind: "sdk2-stateless" }
  | { readonly kind: "fastmcp-stateless" }
  | { readonly kind: "fastmcp-stateful" }
  /** toolgate with every protection on: auth, scopes, validation, audit (and idempotency). */
  | {
      readonly kind: "toolgate-read" | "toolgate-write";
      /** The dev issuer's key file, created by the bench before any child starts. */
      readonly keyFile: string;
      readonly auditFile: string;
      /** The idempotency store (toolgate-write). */
      readonly storeFile: string;
    }
  /** A toolgate server without auth or audit: the gateway's upstream. */
  | { readonly kind: "toolgate-upstream" }
  /** A plain node:http reverse proxy (undici, no checks at all) in front of the same upstream. */
  | { readonly kind: "plain-proxy"; readonly upstreamUrl: string }
  /** createGateway in front of a toolgate-upstream: auth, pinning, audit on. */
  | {
      readonly kind: "gateway";
      readonly upstreamUrl: string;
      readonly keyFile: string;
      readonly lockFile: string;
      readonly storeFile: string;
      readonly auditFile: string;
    }
  /** A server of the scale curves (bench/scale/servers.ts). */
  | ScaleServerConfig;

/** Where a scale-store server keeps idempotency records and rate-limit buckets. */
export type ScaleStoreSpec =
  | { readonly type: "sqlite"; readonly file: string }
  | { readonly type: "redis"; readonly url: string; readonly keyPrefix: string }
  | { readonly type: "postgres"; readonly url: string; readonly table: string };

export type ScaleServerConfig =
  /** toolgate-read with jwtVerifier: RS256 tokens checked against a JWKS served over HTTP. */
  | {
      readonly kind: "scale-jwt";
      readonly jwksUrl: string;
      readonly issuer: string;
      readonly audience: string;
      readonly auditFile: string;
    }
  /** `count` echo tools (tool_00000...), dev-issuer auth, audit to SQLite. */
  | {
      readonly kind: "scale-tools";
      readonly count: number;
      readonly keyFile: string;
      readonly auditFile: string;
    }
  /** `record` (an idempotent write) and `limited` (a read with a budget) on one store. */
  | {
      readonly kind: "scale-store";
      readonly store: ScaleStoreSpec;
      readonly keyFile: string;
      readonly auditFile: string;
    }
  /** `payload({ items }) -> { items }`, dev-issuer auth, audit to SQLite. */
  | {
      readonly kind: "scale-payload";
      readonly keyFile: string;
      readonly auditFile: string;
      readonly maxBodyBytes: number;
    }
  /** The same tool without auth or audit: the payload gateway's upstream. */
  | { readonly kind: "scale-payload-upstream"; readonly maxBodyBytes: number }
  | {
      readonly kind: "scale-payload-gateway";
      readonly upstreamUrl: string;
      readonly keyFile: string;
      readonly lockFile: string;
      readonly storeFile: string;
      readonly auditFile: string;
      readonly maxBodyBytes: number;
      readonly maxResultBytes: number;
    };

export const isScaleConfig = (config: PerfServerConfig): config is ScaleServerConfig =>
  config.kind.startsWith("scale-");

/** What the child answers to an IPC stats request. */
export interface ChildStats {
  readonly id: number;
  readonly cpu: NodeJS.CpuUsage;
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** The largest resident set size so far (getrusage), bytes. */
  readonly maxRss: number;
  readonly heapUsed: number;
  /** When asked for (`{ id, gc: true }`, a child run with --expose-gc): after a full GC. */
  readonly afterGc?: { readonly rss: number; readonly heapUsed: number };
  /**
   * With `watchGc`: the full collections V8 made by itself since the previous request,
   * each with the RSS and heap used read right after it (a `gc` performance entry).
   */
  readonly majorGcs?: readonly MajorGc[];
}

export interface MajorGc {
  /** When the collection started, ms since the epoch. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
}

/**
 * An IPC stats request; `gc` runs a full collection first; `watchGc` starts (or goes on)
 * recording the child's own full collections (soak mode).
 */
export interface StatsRequest {
  readonly id: number;
  readonly gc?: boolean;
  readonly watchGc?: boolean;
}

export const READ_SCOPE = "bench:read";
export const WRITE_SCOPE = "bench:write";
