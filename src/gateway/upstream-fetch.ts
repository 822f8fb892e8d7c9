// The fetch the SDK client's HTTP transport uses for an upstream: the gateway's credential
// on every request, a signal of its own per request, a bound on the size of every POST
// answer, and a refused credential told apart from an outage.
import { ToolError } from "../errors/tool-error.js";
import { UpstreamCredentialRefused, UpstreamResultTooLarge } from "./upstream-errors.js";
import { firstLine } from "./upstream-failure.js";

export interface UpstreamFetchOptions {
  readonly upstream: string;
  readonly maxResultBytes: number;
  /**
   * The headers of this request: the call's (resolved per user) when there is one, else
   * the discovery credential's, which may throw if the credential cannot be had.
   */
  readonly headers: () => Record<string, string> | Promise<Record<string, string>>;
  /** Whether the request belongs to a call (its credential is the call's, not discovery's). */
  readonly inCall: () => boolean;
}

/**
 * The SDK transport's fetch. A discovery request (initialize, tools/list) answered 401 or
 * 403, or whose credential the token endpoint refused, rejects with
 * UpstreamCredentialRefused: the upstream does not accept the gateway's own credential,
 * which an operator must fix; upstream.ts logs it as that rather than as an outage.
 */
export function upstreamFetch(options: UpstreamFetchOptions) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    let extra: Record<string, string>;
    try {
      extra = await options.headers();
    } catch (error) {
      throw credentialFailure(error, options.upstream);
    }
    for (const [key, value] of Object.entries(extra)) headers.set(key, value);
    const response = await fetchWithOwnSignal(input, { ...init, headers }, options);
    if (!options.inCall() && (response.status === 401 || response.status === 403)) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpstreamCredentialRefused(
        `The upstream server '${options.upstream}' refused the gateway's credential (HTTP ${response.status}).`,
        0,
        response.status,
      );
    }
    return response;
  };
}

/**
 * A credential that could not be had. The token endpoint being down is an outage (the
 * provider's `unavailable`, passed on); anything else (a refused client, grant or scope,
 * a broken answer) is a credential an operator must fix. The provider's message names
 * the variable the secret is in, never the secret.
 */
export function credentialFailure(error: unknown, upstream: string): Error {
  if (error instanceof ToolError && error.type === "unavailable") return error;
  return new UpstreamCredentialRefused(
    `The gateway could not get its credential for upstream '${upstream}': ${firstLine(error)}`,
    0,
    undefined,
    { cause: error },
  );
}

/**
 * fetch with a signal of its own, linked to the caller's until the response body ends.
 * The SDK hands every POST its transport's long-lived signal; Node's fetch keeps a
 * listener on it per request until garbage collection, so under load thousands pile up
 * (MaxListenersExceededWarning, and each new request copies the list). A POST's answer
 * is counted as it streams and cut off past `maxResultBytes` (a GET is the long-lived
 * notification stream: not bounded as a whole).
 */
async function fetchWithOwnSignal(
  input: string | URL,
  init: RequestInit,
  options: UpstreamFetchOptions,
): Promise<Response> {
  const outer = init.signal;
  const own = new AbortController();
  const onAbort = () => own.abort(outer?.reason);
  const unlink = () => outer?.removeEventListener("abort", onAbort);
  if (outer?.aborted) own.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal: own.signal });
  } catch (error) {
    unlink();
    throw error;
  }
  if (!response.body) {
    unlink();
    return response;
  }
  const limit = init.method === "POST" ? options.maxResultBytes : Infinity;
  let received = 0;
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        if (received <= limit) return controller.enqueue(chunk);
        unlink();
        const tooLarge = new UpstreamResultTooLarge(limit, options.upstream);
        controller.error(tooLarge);
        own.abort(tooLarge); // and the socket is closed: nothing more is read
      },
      flush: unlink,
    }),
  );
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
