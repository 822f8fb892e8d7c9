// What can go wrong with one forwarded call, as far as retrying it is concerned.

/** The call was not sent: nothing can have happened upstream, so a retry is always safe. */
export class UpstreamNotSent extends Error {
  override readonly name = "UpstreamNotSent";
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

/** The call was sent, and the connection ended before its answer: the outcome is unknown. */
export class UpstreamLost extends Error {
  override readonly name = "UpstreamLost";
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
