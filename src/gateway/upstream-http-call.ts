// The one outbound client of a forwarded tools/call to an HTTP upstream: a plain POST on the
// session the SDK client opened (its negotiated protocol version, its session id), sent with
// undici's dispatcher API, its answer read by read-answer.ts (JSON, or SSE through
// eventsource-parser) as it arrives, and every outcome read by upstream-outcome.ts, the one
// mapping onto the error registry.
//
// Which path does what, and why:
// - tools/call on HTTP: here, never the SDK client's callTool. Its call path (web streams,
//   per-request abort plumbing, response caches, result validation) cost more CPU than the
//   rest of the gateway together, and this is the gateway's hot path (npm run bench:gateway).
//   Nor undici's `request`: its response stream, async resource and abort-signal listener
//   per call cost more than this whole file (a profile of the gateway); a dispatch handler
//   gets the bytes and an abort with none of them, and the call is cancelled through the
//   pipeline's Cancellation, so no AbortSignal is made per forwarded call.
// - initialize, tools/list, list_changed notifications on HTTP: the SDK client (upstream.ts,
//   through upstream-fetch.ts), which does the handshake and its versions well. It connects
//   in its default `legacy` version negotiation, so the session is a 2025-era one, whose
//   tools/call is exactly this POST.
// - stdio upstreams: the SDK client over stdio-transport.ts (no HTTP, no second protocol).
import type { CallToolResult } from "@modelcontextprotocol/client";
import { Agent, type Dispatcher } from "undici";
import type { Cancellation } from "../util/lazy-abort.js";
import { AnswerReader, type Answer } from "./read-answer.js";
import { UpstreamResultTooLarge } from "./upstream-errors.js";
import { answerOutcome, statusOutcome, timedOut, transportOutcome } from "./upstream-outcome.js";

export interface HttpCall {
  readonly url: URL;
  /** The session's negotiated protocol version (absent: the server assumes its default). */
  readonly protocolVersion: string | undefined;
  readonly sessionId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Record<string, unknown>;
  /** The caller's cancellation: aborting it aborts the request. */
  readonly cancellation: Cancellation;
  readonly timeoutMs: number;
  readonly upstream: string;
  /** The answer's bound: past it the body is dropped (UpstreamResultTooLarge). */
  readonly maxResultBytes: number;
}

/** How long a finished answer's stream, or a refused request's body, may stay open. */
const LINGER_MS = 1_000;
/** How much of a refused request's body is read so its connection can go back to the pool. */
const DISCARD_BYTES = 64 * 1024;

let nextId = 1;
let shared: Agent | undefined;
/** One keep-alive pool for every upstream (undici keeps one per origin inside it). */
function agent(): Agent {
  return (shared ??= new Agent({ keepAliveTimeout: 30_000 }));
}

/**
 * The call's result, or rejects with: the caller's abort reason, a timeout
 * (`isUpstreamTimeout`), or one of upstream-errors.ts's classes.
 */
export function callHttpUpstream(call: HttpCall): Promise<CallToolResult> {
  return new Promise((resolve, reject) => new ForwardedCall(call, resolve, reject).send());
}

/**
 * One tools/call POST and its answer, as undici's dispatch handler. It settles once: with
 * the answer, or a failure, or at once when the deadline passes or the caller cancels
 * (the request is then aborted, and what undici reports after is ignored).
 */
class ForwardedCall implements Dispatcher.DispatchHandler {
  readonly #call: HttpCall;
  readonly #resolve: (result: CallToolResult) => void;
  readonly #reject: (error: unknown) => void;
  readonly #id = nextId++;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why the request is to be aborted, once it is (told to undici when it starts). */
  #stopped: Error | undefined;
  #settled = false;
  #ended = false;
  #timer: NodeJS.Timeout | undefined;
  #offCancel: (() => void) | undefined;
  #reader: AnswerReader | undefined;
  #received = 0;
  /** A refused request's body: read a little, then dropped. */
  #discarding = false;

  constructor(
    call: HttpCall,
    resolve: (result: CallToolResult) => void,
    reject: (error: unknown) => void,
  ) {
    this.#call = call;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  send(): void {
    const call = this.#call;
    if (call.cancellation.aborted) return this.#reject(call.cancellation.reason);
    this.#timer = setTimeout(deadlinePassed, call.timeoutMs, this);
    this.#offCancel = call.cancellation.onAbort(() => this.cancel());
    const { url } = call;
    try {
      agent().dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: "POST",
          headers: {
            ...call.headers,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            ...(call.protocolVersion === undefined
              ? {}
              : { "mcp-protocol-version": call.protocolVersion }),
            ...(call.sessionId === undefined ? {} : { "mcp-session-id": call.sessionId }),
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: this.#id,
            method: "tools/call",
            params: call.params,
          }),
        },
        this,
      );
    } catch (error) {
      this.#fail(transportOutcome(error, call.upstream));
    }
  }

  /** The deadline passed before the answer. */
  expire(): void {
    this.#fail(timedOut(this.#call.timeoutMs));
    this.#abort(new Error("upstream deadline"));
  }

  /** The caller cancelled: rejects with its reason, whatever the upstream does. */
  cancel(): void {
    const reason = this.#call.cancellation.reason;
    this.#fail(reason);
    this.#abort(reason instanceof Error ? reason : new Error("cancelled"));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#stopped) controller.abort(this.#stopped);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status < 200) return; // 1xx: the answer's headers follow
    const call = this.#call;
    if (status >= 300) {
      this.#fail(statusOutcome(status, headers["retry-after"], call.upstream));
      // Read a little of it, for a second at most, so the connection can go back to the pool.
      this.#discarding = true;
      this.#lingerUntilEnd();
      return;
    }
    if (Number(headers["content-length"]) > call.maxResultBytes) return this.#tooLarge();
    const type = headers["content-type"];
    const sse = typeof type === "string" && type.includes("text/event-stream");
    this.#reader = new AnswerReader(sse, this.#id);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.#discarding) {
      if (this.#received > DISCARD_BYTES) this.#abort(new Error("refused answer dropped"));
      return;
    }
    if (this.#settled || !this.#reader) return; // after the answer: drained
    if (this.#received > this.#call.maxResultBytes) return this.#tooLarge();
    let answer: Answer | undefined;
    try {
      answer = this.#reader.push(chunk);
    } catch (error) {
      return this.#fail(error);
    }
    if (answer === undefined) return;
    this.#answer(answer);
    // What follows the answer is drained; a stream the server keeps open is dropped. The
    // end usually comes in the same read as the answer: only a stream still open after
    // it needs a timer.
    queueMicrotask(() => {
      if (!this.#ended) this.#lingerUntilEnd();
    });
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#clearTimer();
    if (this.#settled) return;
    if (!this.#reader)
      return this.#fail(transportOutcome(new Error("no answer"), this.#call.upstream));
    this.#answer(this.#reader.end());
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#ended = true;
    this.#clearTimer();
    if (this.#settled) return; // after the answer, or dropped on purpose: nothing to report
    this.#fail(transportOutcome(error, this.#call.upstream));
  }

  #answer(answer: Answer): void {
    let result: CallToolResult;
    try {
      result = answerOutcome(answer, this.#call.upstream);
    } catch (error) {
      return this.#fail(error);
    }
    if (this.#settle()) this.#resolve(result);
  }

  #fail(error: unknown): void {
    if (this.#settle()) this.#reject(error);
  }

  /** Marks the call settled (once); clears its deadline and cancellation. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#clearTimer();
    this.#offCancel?.();
    this.#offCancel = undefined;
    return true;
  }

  #tooLarge(): void {
    const error = new UpstreamResultTooLarge(this.#call.maxResultBytes, this.#call.upstream);
    this.#fail(error);
    this.#abort(error);
  }

  /** Aborts the request (closing its connection), now or as soon as it starts. */
  #abort(reason: Error): void {
    if (this.#ended) return;
    this.#stopped ??= reason;
    this.#controller?.abort(reason);
  }

  #lingerUntilEnd(): void {
    if (this.#ended) return;
    this.#clearTimer();
    this.#timer = setTimeout(dropLingering, LINGER_MS, this);
    this.#timer.unref();
  }

  /** A body still open LINGER_MS after what the call needed of it. */
  dropLingering(): void {
    this.#abort(new Error("answer stream left open"));
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

// Timer callbacks taking the call as an argument: no closure per call.
function deadlinePassed(call: ForwardedCall): void {
  call.expire();
}
function dropLingering(call: ForwardedCall): void {
  call.dropLingering();
}
