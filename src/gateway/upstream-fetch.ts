// The fetch the SDK client's HTTP transport uses for an upstream's initialize, tools/list and
// notifications (a forwarded tools/call never goes through it: upstream-http-call.ts): the
// gateway's discovery credential on every request, a signal of its own per request, a bound
// on the size of every POST answer, and a refused credential told apart from an outage
// (read by upstream-outcome.ts, like every other upstream outcome).
import { credentialOutcome, statusOutcome } from "./upstream-outcome.js";
import { UpstreamResultTooLarge } from "./upstream-errors.js";

export interface UpstreamFetchOptions {
  readonly upstream: string;
  readonly maxResultBytes: number;
  /** The discovery credential's headers; may throw if the credential cannot be had. */
  readonly headers: () => Record<string, string> | Promise<Record<string, string>>;
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
      throw credentialOutcome(error, options.upstream);
    }
    for (const [key, value] of Object.entries(extra)) headers.set(key, value);
    const response = await fetchWithOwnSignal(input, { ...init, headers }, options);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw statusOutcome(response.status, null, options.upstream);
    }
    return response;
  };
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
