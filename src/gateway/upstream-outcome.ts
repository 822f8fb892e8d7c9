// Every outcome of a call to an upstream, mapped onto the error registry in this one module
// (issue 20). Two steps, both here: what happened, read from the wire (an HTTP status, a
// socket error, the deadline, a JSON-RPC error, an unreadable or missing answer, the SDK
// client's error on stdio) as one of upstream-errors.ts's classes, which say whether the
// call was sent; then what that answers the model (`forwardFailure`), and what an answered
// result carries (`forwardResult`). The clients (upstream-http-call.ts for HTTP, the SDK
// client for stdio, upstream-fetch.ts for the SDK's own HTTP requests) only report.
//
// The rule that matters is at-most-once for writes (../shared/design/idempotency.md): an
// error the idempotency stage releases (retryable) lets a retry with the same key send the
// operation again, so it may be answered only when sending again is safe; an error it
// stores (`conflict`, `invalid_input`, ...) is replayed to every retry with that key.
//
// | what happened                         | read                  | write, upstream honours the key  | write, it does not             |
// |---------------------------------------|-----------------------|----------------------------------|--------------------------------|
// | not sent: upstream down, connection   | `unavailable`, or     | same: released, nothing ran      | same                           |
// |   refused, HTTP 3xx/4xx/503, 429      | `rate_limited` (429)  |                                  |                                |
// | not sent: its credential refused      | `unavailable`         | same                             | same                           |
// |   (HTTP 401/403, token endpoint)      |                       |                                  |                                |
// | sent, answered with a result          | passed through, its error texts masked (upstream-result.ts); the idempotency stage        |
// |   (`isError` ones too, typed or not)  | stores or releases it by its outcome policy                                               |
// | sent, answered with a JSON-RPC error, | `invalid_input` (-32602), `not_found` (-32601), `internal`: the upstream refused it,     |
// |   or a result that is not one         | or answered what no client can read                                                       |
// | sent, answer over maxResultBytes      | `invalid_input`: ask  | `invalid_input`, stored: it ran  | same                           |
// |                                       | for less              | and a retry must not run it again|                                |
// | sent, answer lost: connection ended,  | `unavailable` or      | `unavailable` or `timeout`,      | `conflict` outcome_unknown,    |
// |   HTTP 5xx, a body that is not JSON-  | `timeout`: retry      | released: the upstream           | stored: never sent again;      |
// |   RPC, an SSE stream that ended       |                       | deduplicates a resend by the key | check the effect, new key      |
// |   without the answer, no answer       |                       |                                  |                                |
// |   within the lease                    |                       |                                  |                                |
//
// A write's answer is awaited past the caller's deadline, up to the claim's lease (the
// caller gets `timeout` at its deadline; a late answer is stored and replayed), so "no
// answer" for a write means none within the lease.
import type { CallToolResult } from "@modelcontextprotocol/server";
import { retryAfterMs } from "../backends/failure.js";
import { readWireError } from "../errors/to-result.js";
import { ToolError, conflict, rateLimited, timeout, unavailable } from "../errors/tool-error.js";
import type { ToolDefinition } from "../tool/types.js";
import { isRecord } from "../util/is-record.js";
import { RESULT_TOO_LARGE } from "./stdio-transport.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  UpstreamResultTooLarge,
  findCause,
} from "./upstream-errors.js";
import { shapeErrorResult } from "./upstream-result.js";
import {
  CONNECTION_CLOSED,
  REQUEST_TIMEOUT,
  firstLine,
  isConnectionRefused,
  isUpstreamTimeout,
} from "./upstream-failure.js";

// ---- What happened, read from the wire -------------------------------------------------

/**
 * A non-2xx answer. Statuses that mean the server did not process the request (RFC 9110:
 * 3xx, 4xx, 503 "currently unable to handle the request") are "not sent": a retry is
 * safe. 401/403 refuse the gateway's own credential. Any other 5xx may come after the
 * call ran (a proxy's 502/504, a crash mid-call): its outcome is unknown.
 */
export function statusOutcome(
  status: number,
  retryAfter: string | string[] | undefined | null,
  upstream: string,
): UpstreamNotSent | UpstreamLost {
  const wait = retryAfterMs(typeof retryAfter === "string" ? retryAfter : null) ?? 500;
  if (status === 401 || status === 403) {
    return new UpstreamCredentialRefused(
      `The upstream server '${upstream}' refused the gateway's credential (HTTP ${status}).`,
      wait,
      status,
    );
  }
  if (status < 500 || status === 503) {
    return new UpstreamNotSent(
      `The upstream server '${upstream}' refused the request (HTTP ${status}).`,
      wait,
      status,
    );
  }
  return new UpstreamLost(
    `The upstream server '${upstream}' answered HTTP ${status} instead of a result.`,
  );
}

/** A socket error: refused before anything was sent, or lost after. */
export function transportOutcome(error: unknown, upstream: string): UpstreamNotSent | UpstreamLost {
  if (isConnectionRefused(error)) {
    return new UpstreamNotSent(
      `The upstream server '${upstream}' refused the connection.`,
      500,
      undefined,
      { cause: error },
    );
  }
  return new UpstreamLost(
    `The connection to upstream '${upstream}' ended before it answered: ${firstLine(error)}`,
    { cause: error },
  );
}

/** The call's deadline passed before the answer (read as `timeout` by `forwardFailure`). */
export function timedOut(timeoutMs: number): Error {
  return Object.assign(new Error(`The upstream did not answer within ${timeoutMs} ms.`), {
    code: REQUEST_TIMEOUT,
  });
}

/**
 * The result of the JSON-RPC message answering a call, or the error it means: a JSON-RPC
 * error, or a `result` that is not a CallToolResult (no `content` array; the SDK client
 * refuses those too). `missing` says what came instead when no answer came at all.
 */
export function answerOutcome(
  answer: { readonly message: Record<string, unknown> } | { readonly missing: string },
  upstream: string,
): CallToolResult {
  if ("missing" in answer) {
    throw new UpstreamLost(`The upstream server '${upstream}' answered ${answer.missing}.`);
  }
  const rpcError = answer.message["error"];
  if (rpcError !== undefined) {
    const { code, message } = (rpcError ?? {}) as { code?: unknown; message?: unknown };
    throw new UpstreamProtocolError(
      typeof message === "string" ? message : "error",
      typeof code === "number" ? code : -32603,
    );
  }
  const result = answer.message["result"];
  if (!isRecord(result) || !Array.isArray(result["content"])) {
    throw new UpstreamProtocolError(
      `The upstream server '${upstream}' answered a result without a content array.`,
      -32603,
    );
  }
  return result as CallToolResult;
}

/** The SDK client's failure of a call on a stdio upstream. */
export function sdkOutcome(error: unknown, upstream: string, maxResultBytes: number): unknown {
  const tooLarge = findCause(error, UpstreamResultTooLarge);
  if (tooLarge) return tooLarge;
  const { code, data } = error as { code?: unknown; data?: unknown };
  // The stdio transport dropped the answer (stdio-transport.ts).
  if (typeof data === "object" && data !== null && RESULT_TOO_LARGE in data)
    return new UpstreamResultTooLarge(maxResultBytes, upstream);
  if (typeof code === "number" && code !== CONNECTION_CLOSED && code !== REQUEST_TIMEOUT)
    return new UpstreamProtocolError(firstLine(error), code);
  if (isUpstreamTimeout(error)) return error;
  return new UpstreamLost(
    `The connection to upstream '${upstream}' ended before it answered: ${firstLine(error)}`,
    { cause: error },
  );
}

/**
 * A credential that could not be had. The token endpoint being down is an outage (the
 * provider's `unavailable`, passed on); anything else (a refused client, grant or scope,
 * a broken answer) is a credential an operator must fix. The provider's message names
 * the variable the secret is in, never the secret.
 */
export function credentialOutcome(error: unknown, upstream: string): Error {
  if (error instanceof ToolError && error.type === "unavailable") return error;
  return new UpstreamCredentialRefused(
    `The gateway could not get its credential for upstream '${upstream}': ${firstLine(error)}`,
    0,
    undefined,
    { cause: error },
  );
}

/** Sent, and no answer came (rather than: not sent, refused, or answered too large). */
export function answerLost(error: unknown): boolean {
  return !(
    error instanceof ToolError ||
    error instanceof UpstreamNotSent ||
    error instanceof UpstreamProtocolError ||
    error instanceof UpstreamResultTooLarge
  );
}

// ---- What it answers the model ----------------------------------------------------------

export interface ForwardSituation {
  readonly upstream: string;
  readonly tool: ToolDefinition;
  readonly timeoutMs: number;
  /** A write sent to an upstream that deduplicates by the gateway's derived key. */
  readonly honoursKey: boolean;
  /** For a write: no answer came within the claim's lease. */
  readonly leaseEnded: boolean;
  /** Milliseconds until the upstream may be back. */
  readonly retryAfterMs: number;
  /** What the upstream's own words go through before the model sees them. */
  readonly mask: (text: string) => string;
}

/**
 * An answered result, as the model gets it: passed through, its error texts masked (the
 * upstream's `redactErrors`). A retryable error (typed, in `_meta`) of a write to an
 * upstream that does not deduplicate by key lets a retry send the write again (the stage
 * releases its claim), so its message tells the caller to check first.
 */
export function forwardResult(
  result: CallToolResult,
  s: Pick<ForwardSituation, "upstream" | "tool" | "honoursKey"> & { readonly redact: boolean },
): CallToolResult {
  const resend = s.tool.sideEffect === "write" && !s.honoursKey;
  const note =
    resend && readWireError(result)?.retryable === true
      ? `(The upstream server '${s.upstream}' does not deduplicate by idempotency key: ` +
        "a retry sends the operation again, so first check whether it took effect.)"
      : undefined;
  return shapeErrorResult(result, { redact: s.redact, note });
}

/** The typed error a failed forward answers (the table above). */
export function forwardFailure(error: unknown, s: ForwardSituation): ToolError {
  if (error instanceof ToolError) return error; // the call's own credential (a user's token)
  if (error instanceof UpstreamCredentialRefused) {
    return unavailable(
      `The upstream server '${s.upstream}' did not accept the gateway's credential, so nothing ` +
        "was sent. An operator must fix the gateway's configuration; retry later.",
      Math.max(1_000, error.retryAfterMs),
      error,
    );
  }
  if (error instanceof UpstreamNotSent) {
    const wait = Math.max(500, error.retryAfterMs);
    if (error.status === 429) {
      return rateLimited(
        `The upstream server '${s.upstream}' is rate limiting the gateway; nothing was sent. ` +
          "Retry with the same arguments after the wait.",
        wait,
      );
    }
    return unavailable(
      `${error.message} Nothing was sent to it; retry with the same arguments shortly.`,
      wait,
      error,
    );
  }
  if (error instanceof UpstreamProtocolError) return refused(error, s);
  if (error instanceof UpstreamResultTooLarge) return tooLarge(error, s);
  return lost(error, s);
}

/** The upstream answered with a JSON-RPC error: it refused the request rather than running it. */
function refused(error: UpstreamProtocolError, s: ForwardSituation): ToolError {
  if (error.code === -32602) {
    return new ToolError(
      "invalid_input",
      `The upstream server '${s.upstream}' refused the arguments: ${s.mask(error.message).slice(0, 300)}`,
    );
  }
  if (error.code === -32601) {
    return new ToolError(
      "not_found",
      `The upstream server '${s.upstream}' no longer offers ${s.tool.name}. List the tools again.`,
    );
  }
  return new ToolError("internal", undefined, { cause: error });
}

/**
 * `invalid_input`: what the caller can change is what it asks for. A write ran: the error
 * is stored under its key (a retry gets it again, never a second run).
 */
function tooLarge(error: UpstreamResultTooLarge, s: ForwardSituation): ToolError {
  const size = `larger than the gateway allows (${error.limitBytes} bytes), so it was dropped`;
  const message =
    s.tool.sideEffect === "read"
      ? `The answer of ${s.tool.name} is ${size}. Ask for less: narrow the query, or request ` +
        "fewer items or one page at a time."
      : `${s.tool.name} ran at the upstream server '${s.upstream}', but its answer is ${size}. ` +
        "Do not repeat the operation with a new key: check its effect with a read tool. A retry " +
        "with the same key returns this error again.";
  return new ToolError("invalid_input", message, {
    details: { reason: "result_too_large", limitBytes: error.limitBytes },
    cause: error,
  });
}

/** Sent, and no answer came back: the connection ended, or the time ran out. */
function lost(error: unknown, s: ForwardSituation): ToolError {
  const timedOut = isUpstreamTimeout(error) || s.leaseEnded;
  const how = timedOut
    ? `did not answer ${s.tool.name} in time`
    : `stopped before it answered ${s.tool.name}`;
  if (s.tool.sideEffect === "read") {
    return timedOut
      ? timeout(`${s.tool.name} did not answer within ${s.timeoutMs} ms. It is safe to retry.`)
      : unavailable(
          error instanceof UpstreamLost
            ? `The upstream server '${s.upstream}' ${how}. It is safe to retry shortly.`
            : `The upstream server '${s.upstream}' could not be reached. Retry shortly.`,
          Math.max(500, s.retryAfterMs),
          error,
        );
  }
  if (s.honoursKey) {
    const safe =
      "It deduplicates by the idempotency key the gateway sends, so retry with the same key: " +
      "the operation will not run twice.";
    const message = `The upstream server '${s.upstream}' ${how}. ${safe}`;
    return timedOut ? timeout(message) : unavailable(message, Math.max(500, s.retryAfterMs), error);
  }
  return conflict(
    `The upstream server '${s.upstream}' ${how}, so whether it took effect is unknown. ` +
      "toolgate will not send this operation again under the same idempotency key: check " +
      "whether it happened (e.g. with a read tool) before starting a new operation with a new key.",
    { reason: "outcome_unknown", upstream: s.upstream },
  );
}
