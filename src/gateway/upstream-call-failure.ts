// What the failure of one forwarded call means for the upstream's connection (reconnect or
// not) and for the call: the errors of upstream-errors.ts, which forward-outcome.ts turns
// into the error contract.
import type { Logger } from "../log/logger.js";
import { RESULT_TOO_LARGE } from "./stdio-transport.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  UpstreamResultTooLarge,
  findCause,
} from "./upstream-errors.js";
import {
  CONNECTION_CLOSED,
  REQUEST_TIMEOUT,
  firstLine,
  isConnectionFailure,
  isConnectionRefused,
  isUpstreamTimeout,
} from "./upstream-failure.js";

export interface CallFailureContext {
  readonly upstream: string;
  /** An HTTP upstream (a stdio child's failures show as its exit instead). */
  readonly http: boolean;
  readonly maxResultBytes: number;
  readonly log: Logger;
  retryAfterMs(): number;
  /** Drops the connection the call used and reconnects with backoff. */
  reconnect(error: unknown): void;
  invalidateCredential(): void;
}

/** A direct POST's failure (direct-call.ts). */
export function directFailure(error: unknown, ctx: CallFailureContext): unknown {
  if (error instanceof UpstreamCredentialRefused) {
    ctx.invalidateCredential();
    ctx.log.error(
      { status: error.status },
      `upstream '${ctx.upstream}' refused the gateway's credential for a call: check the credential configured for it`,
    );
    return new UpstreamCredentialRefused(
      error.message,
      Math.max(1_000, ctx.retryAfterMs()),
      error.status,
    );
  }
  const refused = error instanceof UpstreamNotSent;
  // A refused connection, an expired session (the server restarted) or a dropped socket.
  if (
    (refused && (error.status === undefined || error.status === 404)) ||
    (error instanceof UpstreamLost && isConnectionFailure(error.cause))
  )
    ctx.reconnect(error);
  if (!refused) return error;
  return new UpstreamNotSent(
    error.message,
    Math.max(error.retryAfterMs, ctx.retryAfterMs()),
    error.status,
    { cause: error },
  );
}

/** The SDK client's failure of a call (stdio; HTTP when not sent directly). */
export function sdkFailure(error: unknown, ctx: CallFailureContext): unknown {
  const tooLarge = findCause(error, UpstreamResultTooLarge);
  if (tooLarge) return tooLarge;
  const { code, data } = error as { code?: unknown; data?: unknown };
  // The stdio transport dropped the answer (stdio-transport.ts).
  if (typeof data === "object" && data !== null && RESULT_TOO_LARGE in data)
    return new UpstreamResultTooLarge(ctx.maxResultBytes, ctx.upstream);
  // HTTP: a refused connection never reached the server.
  if (ctx.http && isConnectionRefused(error)) {
    ctx.reconnect(error);
    return new UpstreamNotSent(
      `The upstream server '${ctx.upstream}' refused the connection.`,
      ctx.retryAfterMs(),
    );
  }
  if (typeof code === "number" && code !== CONNECTION_CLOSED && code !== REQUEST_TIMEOUT)
    return new UpstreamProtocolError(firstLine(error), code);
  if (isUpstreamTimeout(error)) return error;
  if (ctx.http && isConnectionFailure(error)) ctx.reconnect(error);
  return new UpstreamLost(
    `The connection to upstream '${ctx.upstream}' ended before it answered: ${firstLine(error)}`,
    { cause: error },
  );
}
