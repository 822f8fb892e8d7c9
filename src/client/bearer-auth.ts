// Bearer tokens for the SDK v2 transport that can change under a live connection: the
// user re-authorises with more scopes, or the token expires, and the SDK `Client`, its
// transport, the kit and its operation ids all stay. It is the SDK's own seam for this,
// an `AuthProvider`: `token()` is read before every HTTP request, and after an HTTP 401
// the transport awaits `onUnauthorized()` and sends that request once more. A 401 means
// the server refused the request before running anything, so sending it again is safe.
import type { AuthProvider } from "@modelcontextprotocol/client";

/** Where the bearer token comes from. */
export interface BearerTokenSource {
  /**
   * The token to send, or undefined for none. Read before every HTTP request, so a token
   * switched here (e.g. after the user granted more scopes) is used from the next request
   * on. Keep it cheap: return what you hold.
   */
  current(): string | undefined | Promise<string | undefined>;
  /**
   * A new token after the server refused `rejected` with HTTP 401 (expired or revoked):
   * refresh it, or have the user sign in again; undefined when there is none (the call
   * then fails `unauthenticated`). 401s that arrive while it runs share its answer. From
   * then on the new token is sent in place of `rejected`, even if `current()` still
   * returns `rejected`. Without `refresh`, a 401 fails the call at once.
   */
  refresh?(rejected: string | undefined): string | undefined | Promise<string | undefined>;
}

/**
 * The token source failed: `current()` or `refresh()` threw, or returned something that
 * is not a bearer token. Nothing was sent with a token; the kit reports it as
 * `unauthenticated` with `applied: "no"`. The source's own error is the `cause`.
 */
export class BearerTokenError extends Error {
  override readonly name = "BearerTokenError";
}

// RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * An SDK v2 `AuthProvider` (the `authProvider` option of `StreamableHTTPClientTransport`
 * from `@modelcontextprotocol/client`) that sends `source`'s current bearer token:
 *
 * ```ts
 * let token = await signIn();
 * const transport = new StreamableHTTPClientTransport(url, {
 *   authProvider: bearerAuth({ current: () => token, refresh: async () => (token = await signIn()) }),
 * });
 * ```
 */
export function bearerAuth(source: BearerTokenSource): AuthProvider {
  if (typeof source !== "object" || source === null || typeof source.current !== "function") {
    throw new TypeError(
      "bearerAuth(source): source.current must be a function returning the token.",
    );
  }
  if (source.refresh !== undefined && typeof source.refresh !== "function") {
    throw new TypeError("bearerAuth(source): source.refresh must be a function when given.");
  }
  /** The token `refresh` gave in place of one the source still returns. */
  let replaced: { stale: string | undefined; fresh: string } | undefined;
  let refreshing: Promise<void> | undefined;

  async function read(): Promise<{ raw: string | undefined; token: string | undefined }> {
    const raw = checked(await ask(() => source.current(), "current()"), "current()");
    if (replaced && raw === replaced.stale) return { raw, token: replaced.fresh };
    replaced = undefined; // the source moved on: its token wins
    return { raw, token: raw };
  }

  async function renew(): Promise<void> {
    const { raw, token: rejected } = await read();
    const fresh = checked(await ask(() => source.refresh?.(rejected), "refresh()"), "refresh()");
    if (fresh !== undefined && fresh !== rejected) replaced = { stale: raw, fresh };
  }

  const provider: AuthProvider = { token: async () => (await read()).token };
  if (source.refresh) {
    provider.onUnauthorized = async () => {
      refreshing ??= renew().finally(() => (refreshing = undefined));
      await refreshing;
    };
  }
  return provider;
}

async function ask(read: () => unknown, where: string): Promise<unknown> {
  try {
    return await read();
  } catch (cause) {
    // The source's message stays in `cause`: it is not for the model.
    throw new BearerTokenError(`The token source's ${where} failed, so no token could be sent.`, {
      cause,
    });
  }
}

function checked(token: unknown, where: string): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== "string" || !B64TOKEN.test(token)) {
    // Never echo the value: it may be a secret with a typo in it.
    throw new BearerTokenError(
      `The token source's ${where} returned something that is not a bearer token (RFC 6750: ` +
        "letters, digits and -._~+/ then optional '='); it must return the access token, or undefined.",
    );
  }
  return token;
}
