import type { Response, RequestInit } from "undici";

/** Options of one backend request, besides fetch's own. */
export interface BackendRequestInit extends Omit<RequestInit, "signal" | "dispatcher"> {
  /**
   * Answer `not_found` with this message when the backend says 404 (the model can act on
   * it). Without it a 404 is returned to the handler like any other 4xx.
   */
  readonly notFound?: string;
}

/** A declared backend, bound to one tool call (its deadline, principal, credential). */
export interface BackendClient {
  readonly name: string;
  /**
   * Requests `path` (relative to the backend's base URL). Resolves with the response for
   * 2xx-4xx; throws the contract's errors: `timeout` (deadline or backend timeout),
   * `unavailable` (connection refused or reset, 5xx, open circuit breaker),
   * `rate_limited` (429, with the backend's Retry-After), `not_found` (404, when asked).
   */
  fetch(path: string, init?: BackendRequestInit): Promise<Response>;
}

/** What a backend call's `run` receives: headers to send (W3C trace context) and the call's signal. */
export interface BackendCallInit {
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
}
