// The shape of one upstream behind the gateway (upstream.ts implements it).
import type { Tool } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import type { SignalSource } from "../util/lazy-abort.js";
import type { UpstreamOptions } from "./options.js";

export type UpstreamState = "starting" | "ready" | "down" | "closed";

export interface UpstreamCall {
  readonly name: string;
  /**
   * The tool's tools/list entry. Sent without its outputSchema: the SDK client would
   * otherwise reject a result that does not match it, after the upstream ran the call,
   * and the gateway passes the upstream's results through as they are.
   */
  readonly entry: Tool;
  readonly arguments: Record<string, unknown>;
  readonly meta?: Record<string, unknown>;
  /**
   * Aborts the request (and, on stdio, sends notifications/cancelled). An HTTP call reads
   * it without its `signal`, which a LazyAbort creates only for code that needs one (a
   * credential provider, the SDK client on stdio).
   */
  readonly cancellation: SignalSource;
  readonly timeoutMs: number;
  /** For a token-exchange credential: who the call is for. */
  readonly principal: Principal;
}

export interface UpstreamRuntime {
  /** The key in `upstreams`. */
  readonly name: string;
  readonly prefix: string;
  readonly options: UpstreamOptions;
  state(): UpstreamState;
  /** The last tools/list (kept while the upstream is down, so its tools keep their contract). */
  tools(): readonly Tool[] | undefined;
  /** The upstream's `serverInfo.version`, once connected. */
  serverVersion(): string | undefined;
  /** Milliseconds until the next reconnection attempt (0 when connected). */
  retryAfterMs(): number;
  /** The first connection attempt; resolves either way (failures are retried with backoff). */
  start(): Promise<void>;
  /** Asks tools/list again (on a timer, or after notifications/tools/list_changed). */
  refresh(): Promise<void>;
  call(call: UpstreamCall): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface UpstreamEvents {
  /** A new tools/list arrived (after connecting, a refresh, or a list_changed notification). */
  onTools(upstream: UpstreamRuntime, tools: readonly Tool[]): void;
  /** The connection state changed. */
  onState?(upstream: UpstreamRuntime, state: UpstreamState): void;
}
