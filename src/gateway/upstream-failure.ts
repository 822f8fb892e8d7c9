// Reading the errors an upstream connection fails with: the SDK's codes, Node's errno codes
// along a cause chain, and one short line for the log.

// JSON-RPC codes the SDK uses for its own failures (not the server's answer).
export const CONNECTION_CLOSED = -32000;
export const REQUEST_TIMEOUT = -32001;

/**
 * A request that passed its timeout: the SDK v2 client's `SdkError` code
 * "REQUEST_TIMEOUT", or the JSON-RPC code -32001 (the SDK v1 client; direct calls).
 */
export function isUpstreamTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === REQUEST_TIMEOUT || code === "REQUEST_TIMEOUT";
}

export function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isConnectionRefused(error: unknown): boolean {
  const code = causeCode(error);
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

export function isConnectionFailure(error: unknown): boolean {
  if (isConnectionRefused(error)) return true;
  const code = causeCode(error);
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE";
}

/** The error's first line, with its errno code when the line does not say it. */
export function describe(error: unknown): string {
  const line = firstLine(error);
  const code = causeCode(error);
  return code && !line.includes(code) ? `${line} (${code})` : line;
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? "").trim() || "unknown error";
}

export function lastLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1)
    ?.slice(0, 300);
}
