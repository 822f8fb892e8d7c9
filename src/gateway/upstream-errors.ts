// What can go wrong with one forwarded call, as far as retrying it is concerned. The rules
// that read the wire into these, and turn these into the error contract, are in
// upstream-outcome.ts.

/** The call was not sent: nothing can have happened upstream, so a retry is always safe. */
export class UpstreamNotSent extends Error {
  override readonly name: string = "UpstreamNotSent";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    /** The HTTP status the upstream refused with, if it answered at all. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Not sent because the upstream refused the gateway's own credential (HTTP 401/403, or the
 * token endpoint of `clientCredentials` refused the gateway's client). An operator must
 * fix the credential; the message never contains it.
 */
export class UpstreamCredentialRefused extends UpstreamNotSent {
  override readonly name = "UpstreamCredentialRefused";
}

/** The call was sent, and the connection ended before its answer: the outcome is unknown. */
export class UpstreamLost extends Error {
  override readonly name = "UpstreamLost";
}

/**
 * The call was sent and answered, but the answer passed `maxResultBytes`: the gateway
 * stopped reading it and dropped what it had. The upstream did run the call.
 */
export class UpstreamResultTooLarge extends Error {
  override readonly name = "UpstreamResultTooLarge";
  constructor(
    readonly limitBytes: number,
    upstream: string,
  ) {
    super(`The answer of upstream '${upstream}' is larger than maxResultBytes (${limitBytes}).`);
  }
}

/** The upstream answered with a JSON-RPC error instead of a result. */
export class UpstreamProtocolError extends Error {
  override readonly name = "UpstreamProtocolError";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The first error of this class in `error`'s cause chain. */
export function findCause<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    if (e instanceof type) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
