import { rateLimited, timeout, unavailable, type ToolError } from "../errors/tool-error.js";

/**
 * A failed attempt at a backend, before it becomes a tool error: the circuit breaker
 * counts these (and nothing else), and the retry policy retries them when the request
 * is safe to repeat.
 */
export class BackendFailure extends Error {
  override readonly name = "BackendFailure";
  constructor(
    readonly kind: "connect" | "status" | "timeout",
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toToolError(backend: string, timeoutMs: number): ToolError {
    if (this.kind === "timeout") {
      return timeout(`The ${backend} service did not answer within ${timeoutMs} ms. Retry later.`);
    }
    return unavailable(
      this.kind === "connect"
        ? `The ${backend} service cannot be reached right now. Retry later.`
        : `The ${backend} service is failing (${this.message}). Retry later.`,
      this.retryAfterMs ?? 1_000,
      this,
    );
  }
}

/** The backend said 429: not a failure of the backend (no breaker count), not retried here. */
export class BackendRateLimited extends Error {
  override readonly name = "BackendRateLimited";
  constructor(readonly retryAfterMs: number | undefined) {
    super("backend answered 429");
  }

  toToolError(backend: string): ToolError {
    return rateLimited(
      `The ${backend} service is rate limiting this tool. Wait and retry.`,
      this.retryAfterMs,
    );
  }
}

// undici wraps network failures in `TypeError: fetch failed` with the real error as `cause`.
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);
const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** Classifies a thrown fetch error; undefined for anything that is not the network. */
export function failureOf(error: unknown): BackendFailure | undefined {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (TIMEOUT_CODES.has(code)) return new BackendFailure("timeout", code, undefined, { cause });
  if (CONNECT_CODES.has(code)) return new BackendFailure("connect", code, undefined, { cause });
  return undefined;
}

/** Retry-After in ms (delta-seconds or an HTTP date), capped at a day. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms >= 0 ? Math.min(Math.ceil(ms), 86_400_000) : undefined;
}
