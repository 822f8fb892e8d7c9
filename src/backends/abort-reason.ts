// How a credential call whose signal aborted rejects, shared by the token request and the
// token cache so both reject alike.

/** What a call whose signal aborted rejects with: the signal's reason (the pipeline checks it). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("The call was aborted.", { cause: reason });
}
