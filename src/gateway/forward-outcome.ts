// What a forwarded call that did not bring back a result answers, in one place. The rule
// that matters is at-most-once for writes (../shared/design/idempotency.md): an error the
// idempotency stage releases (retryable) lets a retry with the same key send the
// operation again, so it may be answered only when sending again is safe; an error it
// stores (`conflict`, `invalid_input`, ...) is replayed to every retry with that key.
//
// | what happened                         | read                  | write, upstream honours the key  | write, it does not             |
// |---------------------------------------|-----------------------|----------------------------------|--------------------------------|
// | not sent: upstream down, connection   | `unavailable`, or     | same: released, nothing ran      | same                           |
// |   refused, HTTP 3xx/4xx/503, 429      | `rate_limited` (429)  |                                  |                                |
// | not sent: its credential refused      | `unavailable`         | same                             | same                           |
// | sent, answered with a result          | passed through (the idempotency stage stores or releases it by its outcome policy)        |
// | sent, answered with a JSON-RPC error  | `invalid_input` (-32602), `not_found` (-32601), `internal`: the upstream refused it      |
// | sent, answer over maxResultBytes      | `invalid_input`: ask  | `invalid_input`, stored: it ran  | same                           |
// |                                       | for less              | and a retry must not run it again|                                |
// | sent, answer lost: connection ended,  | `unavailable` or      | `unavailable` or `timeout`,      | `conflict` outcome_unknown,    |
// |   HTTP 5xx, no answer within the lease| `timeout`: retry      | released: the upstream           | stored: never sent again;      |
// |                                       |                       | deduplicates a resend by the key | check the effect, new key      |
//
// A write's answer is awaited past the caller's deadline, up to the claim's lease (the
// caller gets `timeout` at its deadline; a late answer is stored and replayed), so "no
// answer" for a write means none within the lease.
import { ToolError, conflict, rateLimited, timeout, unavailable } from "../errors/tool-error.js";
import type { ToolDefinition } from "../tool/types.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  UpstreamResultTooLarge,
} from "./upstream-errors.js";
import { isUpstreamTimeout } from "./upstream-failure.js";

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
