// An HTTP backend: every request bounded (connect, headers, body, total, and never past
// the tool call's deadline), retried with backoff and jitter only when repeating it is
// safe, behind a circuit breaker, with a least-privilege credential per backend and tool.
// Resilience is cockatiel's (retry, breaker); HTTP is undici's (connect/body timeouts).
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
} from "cockatiel";
import type * as Undici from "undici";
import type { Agent, Headers, Response } from "undici";
import { loadUndici } from "../util/undici.js";
import { subjectTokenOf } from "../auth/subject-token.js";
import { notFound, timeout, unavailable } from "../errors/tool-error.js";
import { runBackendCall } from "../observability/backend-call.js";
import type { CallContext } from "../pipeline/types.js";
import type { BackendClient, BackendRequestInit } from "./client.js";
import type { CredentialProvider, CredentialRequest } from "./credential.js";
import { BackendFailure, BackendRateLimited, failureOf, retryAfterMs } from "./failure.js";

export interface HttpBackendOptions {
  /** Where the backend lives; request paths are resolved against it and may not leave its origin. */
  readonly baseUrl: string;
  /** Longest one attempt may take (headers and body). Default 10 000 ms; never past the call's deadline. */
  readonly timeoutMs?: number;
  /** Longest a TCP/TLS connect may take. Default 2 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * Retries for requests that are safe to repeat (GET, HEAD, OPTIONS, or carrying the
   * operation's idempotency key): exponential backoff with jitter. Default
   * `{ maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 2000 }`; `false` for none.
   */
  readonly retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number } | false;
  /**
   * Opens after `consecutiveFailures` failed attempts (connection errors, timeouts, 5xx):
   * calls then fail at once with `unavailable` until `halfOpenAfterMs` passes and one trial
   * request succeeds. Default `{ consecutiveFailures: 5, halfOpenAfterMs: 10 000 }`; `false` for none.
   */
  readonly breaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number } | false;
  /** The credential requests carry (least privilege: one per backend, narrowed per tool). */
  readonly credential?: CredentialProvider;
  /** Fixed, non-secret headers for every request (secrets belong in `credential`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BackendDefinition {
  readonly kind: "http";
  /** Builds the per-server runtime (connection pool, breaker). */
  start(name: string): BackendRuntime;
}

export type BreakerState = "closed" | "open" | "half-open";

export interface BackendRuntime {
  readonly name: string;
  client(
    ctx: CallContext,
    signal: AbortSignal,
    scope: readonly string[] | undefined,
  ): BackendClient;
  breakerState(): BreakerState;
  close(): Promise<void>;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function httpBackend(options: HttpBackendOptions): BackendDefinition {
  const settings = checkOptions(options);
  return { kind: "http", start: (name) => startRuntime(name, settings) };
}

interface Settings {
  base: URL;
  timeoutMs: number;
  connectTimeoutMs: number;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number } | undefined;
  breaker: { consecutiveFailures: number; halfOpenAfterMs: number } | undefined;
  credential: CredentialProvider | undefined;
  headers: Record<string, string>;
}

function startRuntime(name: string, s: Settings): BackendRuntime {
  // Made on the first request (undici is imported then, see loadUndici).
  let agent: Promise<Agent> | undefined;
  const agentOf = (undici: typeof Undici) =>
    (agent ??= Promise.resolve(
      new undici.Agent({
        connect: { timeout: s.connectTimeoutMs },
        // Our own per-attempt timer (at most timeoutMs) fires first and says `timeout`;
        // these are undici's backstops for a stalled socket.
        headersTimeout: s.timeoutMs + 1_000,
        bodyTimeout: s.timeoutMs + 1_000,
      }),
    ));
  let openedAt = 0;
  const breaker: CircuitBreakerPolicy | undefined = s.breaker
    ? circuitBreaker(
        handleWhen((e) => e instanceof BackendFailure),
        {
          halfOpenAfter: s.breaker.halfOpenAfterMs,
          breaker: new ConsecutiveBreaker(s.breaker.consecutiveFailures),
        },
      )
    : undefined;
  breaker?.onBreak(() => (openedAt = Date.now()));
  const retryPolicy = s.retry
    ? retry(
        handleWhen((e) => e instanceof BackendFailure),
        {
          maxAttempts: s.retry.maxAttempts - 1,
          backoff: new ExponentialBackoff({
            initialDelay: s.retry.initialDelayMs,
            maxDelay: s.retry.maxDelayMs,
          }),
        },
      )
    : undefined;

  return {
    name,
    breakerState() {
      const state = breaker?.state ?? CircuitState.Closed;
      if (state === CircuitState.HalfOpen) return "half-open";
      return state === CircuitState.Closed ? "closed" : "open";
    },
    close: async () => (agent ? (await agent).close() : undefined),
    client(ctx, callSignal, scope) {
      return {
        name,
        async fetch(path, init = {}) {
          const url = resolveUrl(s.base, path, name);
          const method = (init.method ?? "GET").toUpperCase();
          const undici = await loadUndici();
          const dispatcher = await agentOf(undici);
          const headers = new undici.Headers(init.headers);
          for (const [k, v] of Object.entries(s.headers)) if (!headers.has(k)) headers.set(k, v);
          // The operation's derived key goes downstream, so the backend deduplicates too.
          const keyed = ctx.idempotencyKey !== undefined && !SAFE_METHODS.has(method);
          if (keyed && !headers.has("idempotency-key"))
            headers.set("idempotency-key", ctx.idempotencyKey);
          const credentialRequest: CredentialRequest = {
            principal: ctx.principal,
            subjectToken: subjectTokenOf(ctx.principal),
            scope,
            signal: callSignal,
            backend: name,
          };
          const once = (signal: AbortSignal) =>
            attempt({
              ctx,
              name,
              s,
              undici,
              agent: dispatcher,
              url,
              method,
              headers,
              init,
              credentialRequest,
              signal,
            });
          const guarded = breaker
            ? (signal: AbortSignal) => breaker.execute(({ signal: inner }) => once(inner), signal)
            : once;
          // Retried only when repeating cannot do the work twice.
          const safe = SAFE_METHODS.has(method) || headers.has("idempotency-key");
          try {
            const response =
              retryPolicy && safe
                ? await retryPolicy.execute(({ signal }) => guarded(signal), callSignal)
                : await guarded(callSignal);
            if (response.status === 404 && init.notFound !== undefined) {
              await response.body?.cancel().catch(() => undefined);
              throw notFound(init.notFound);
            }
            return response;
          } catch (error) {
            // The call's own deadline or cancel: the execute stage answers `timeout`.
            if (callSignal.aborted) throw callSignal.reason ?? error;
            if (error instanceof BrokenCircuitError) {
              const wait = Math.max(1, openedAt + (s.breaker?.halfOpenAfterMs ?? 0) - Date.now());
              throw unavailable(
                `The ${name} service is failing, so calls to it are paused. Retry in ${Math.ceil(wait / 1000)} s.`,
                wait,
              );
            }
            if (error instanceof BackendFailure) throw error.toToolError(name, s.timeoutMs);
            if (error instanceof BackendRateLimited) throw error.toToolError(name);
            throw error;
          }
        },
      };
    },
  };
}

interface Attempt {
  ctx: CallContext;
  name: string;
  s: Settings;
  undici: typeof Undici;
  agent: Agent;
  url: URL;
  method: string;
  headers: Headers;
  init: BackendRequestInit;
  credentialRequest: CredentialRequest;
  signal: AbortSignal;
}

/** One request; a 401 with a cached credential is retried once with a fresh one. */
async function attempt(a: Attempt): Promise<Response> {
  for (let refreshed = false; ; refreshed = true) {
    const response = await send(a);
    if (response.status !== 401 || refreshed || !a.s.credential?.invalidate) return response;
    await response.body?.cancel().catch(() => undefined);
    a.s.credential.invalidate(a.credentialRequest);
  }
}

async function send(a: Attempt): Promise<Response> {
  const headers = new a.undici.Headers(a.headers);
  if (a.s.credential) {
    for (const [k, v] of Object.entries(await a.s.credential.headers(a.credentialRequest)))
      headers.set(k, v);
  }
  // Bounded by the backend's timeout and the call's deadline, whichever comes first. The
  // timer is ours (not AbortSignal.timeout) so it is cleared when the call ends.
  const controller = new AbortController();
  const budget = Math.max(1, Math.min(a.s.timeoutMs, (a.ctx.deadline ?? Infinity) - Date.now()));
  // The reason is already the tool error: a handler still reading the body gets `timeout`.
  const timer = setTimeout(
    () =>
      controller.abort(
        timeout(`The ${a.name} service did not answer within ${budget} ms. Retry later.`),
      ),
    budget,
  );
  timer.unref(); // a late handler's request must not keep the process alive
  a.ctx.record.cleanups.push(() => clearTimeout(timer));
  const signal = AbortSignal.any([a.signal, controller.signal]);
  let response: Response;
  try {
    response = await runBackendCall(a.ctx, signal, a.name, (init) => {
      for (const [k, v] of Object.entries(init.headers)) headers.set(k, v);
      const { notFound: _ignored, ...rest } = a.init;
      return a.undici.fetch(a.url, {
        ...rest,
        method: a.method,
        headers,
        signal: init.signal,
        dispatcher: a.agent,
      });
    });
  } catch (error) {
    clearTimeout(timer);
    if (controller.signal.aborted && !a.signal.aborted) {
      throw new BackendFailure("timeout", `no answer within ${budget} ms`, undefined, {
        cause: error,
      });
    }
    throw failureOf(error) ?? error;
  }
  if (response.status >= 500) {
    clearTimeout(timer);
    await response.body?.cancel().catch(() => undefined);
    throw new BackendFailure(
      "status",
      `HTTP ${response.status}`,
      retryAfterMs(response.headers.get("retry-after")),
    );
  }
  if (response.status === 429) {
    clearTimeout(timer);
    await response.body?.cancel().catch(() => undefined);
    throw new BackendRateLimited(retryAfterMs(response.headers.get("retry-after")));
  }
  return response;
}

/** A path under the base URL; an absolute URL elsewhere would carry this backend's credential away. */
function resolveUrl(base: URL, path: string, name: string): URL {
  if (typeof path !== "string") throw new TypeError(`backend ${name}: path must be a string.`);
  const url = new URL(path.replace(/^\/+/, ""), base);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw new TypeError(`backend ${name}: '${path}' is outside its base URL ${base.href}.`);
  }
  return url;
}

function checkOptions(o: HttpBackendOptions): Settings {
  const where = "httpBackend";
  if (typeof o !== "object" || o === null)
    throw new TypeError(`${where} expects an options object.`);
  let base: URL;
  try {
    base = new URL(o.baseUrl);
  } catch {
    throw new TypeError(
      `${where}: baseUrl must be an absolute http(s) URL (got '${String(o.baseUrl)}').`,
    );
  }
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new TypeError(`${where}: baseUrl must be an http(s) URL.`);
  if (base.username || base.password)
    throw new TypeError(`${where}: baseUrl must not carry credentials; use credential.`);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const int = (value: unknown, field: string, fallback: number, min = 1) => {
    if (value === undefined) return fallback;
    if (
      !Number.isSafeInteger(value) ||
      (value as number) < min ||
      (value as number) > 2_147_483_647
    )
      throw new TypeError(`${where}: ${field} must be an integer of at least ${min}.`);
    return value as number;
  };
  const r = o.retry === false ? undefined : (o.retry ?? {});
  const b = o.breaker === false ? undefined : (o.breaker ?? {});
  if (o.credential !== undefined && typeof o.credential?.headers !== "function")
    throw new TypeError(
      `${where}: credential must be a credential provider (staticCredential(...), ...).`,
    );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (typeof v !== "string") throw new TypeError(`${where}: headers.${k} must be a string.`);
    if (/^(authorization|cookie|proxy-authorization)$/i.test(k))
      throw new TypeError(`${where}: put secrets in credential, not in headers (${k}).`);
    headers[k] = v;
  }
  return {
    base,
    timeoutMs: int(o.timeoutMs, "timeoutMs", 10_000),
    connectTimeoutMs: int(o.connectTimeoutMs, "connectTimeoutMs", 2_000),
    retry: r && {
      maxAttempts: int(r.maxAttempts, "retry.maxAttempts", 3),
      initialDelayMs: int(r.initialDelayMs, "retry.initialDelayMs", 100),
      maxDelayMs: int(r.maxDelayMs, "retry.maxDelayMs", 2_000),
    },
    breaker: b && {
      consecutiveFailures: int(b.consecutiveFailures, "breaker.consecutiveFailures", 5),
      halfOpenAfterMs: int(b.halfOpenAfterMs, "breaker.halfOpenAfterMs", 10_000),
    },
    credential: o.credential,
    headers,
  };
}
