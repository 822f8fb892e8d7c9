// What the OAuth credential providers share: option checks, one token request to an
// authorization server's token endpoint with its failures mapped to the error contract,
// and a small single-flight cache of the tokens it issues.
import type { Response } from "undici";
import { loadUndici } from "../util/undici.js";
import { ToolError, unavailable } from "../errors/tool-error.js";
import { endpointOption, nonEmptyString } from "../auth/claims.js";
import { isRecord } from "../util/is-record.js";

// ---------------------------------------------------------------------------------------
// Option checks. They throw TypeError naming the field: bad options fail at startup.

/** Fails on options a factory does not know; a raw secret gets a pointed message. */
export function knownOptions(options: object, known: readonly string[], where: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${where}: options are required.`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    if (/secret|password|^(value|token|apiKey)$/i.test(key)) {
      throw new TypeError(
        `${where}: ${key} is not an option. Secrets never go in configuration: put the secret ` +
          `in an environment variable and name that variable (e.g. ${known.find((k) => k.endsWith("FromEnv")) ?? "valueFromEnv"}).`,
      );
    }
    throw new TypeError(`${where}: unknown option ${key}.`);
  }
}

/** The secret in `process.env[name]`, read once. Its value is never part of an error. */
export function secretFromEnv(name: unknown, where: string): string {
  const variable = nonEmptyString(name, where);
  const value = process.env[variable];
  if (value === undefined || value === "") {
    throw new TypeError(`${where}: the environment variable ${variable} is not set or is empty.`);
  }
  return value;
}

/** An http(s) URL without credentials or fragment. */
/** https, or http on loopback only: the client secret and users' tokens travel to it. */
export function tokenUrlOption(value: unknown, where: string): URL {
  const url = endpointOption(value, where, false);
  if (url.username !== "" || url.password !== "" || url.hash !== "") {
    throw new TypeError(`${where} must not carry credentials or a fragment.`);
  }
  return url;
}

export function timeoutOption(value: unknown, where: string): number {
  if (value === undefined) return 5000;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new TypeError(`${where} must be a positive integer number of milliseconds.`);
  }
  return value;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function isScopeToken(value: unknown): value is string {
  return typeof value === "string" && SCOPE_TOKEN.test(value);
}

/** A scope list option: RFC 6749 scope tokens, deduplicated and sorted. */
export function scopeOption(value: unknown, where: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isScopeToken)) {
    throw new TypeError(
      `${where} must be an array of OAuth scope tokens (no spaces, quotes or backslashes).`,
    );
  }
  return normalizeScope(value);
}

export function normalizeScope(scope: readonly string[]): readonly string[] {
  return Object.freeze([...new Set(scope)].sort());
}

// ---------------------------------------------------------------------------------------
// The token endpoint.

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";

export interface TokenEndpoint {
  readonly url: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  /** For messages: the variable the secret came from (never the secret). */
  readonly secretVariable: string;
  readonly authMethod: ClientAuthMethod;
  readonly timeoutMs: number;
}

export function authMethodOption(value: unknown, where: string): ClientAuthMethod {
  if (value === undefined) return "client_secret_basic";
  if (value !== "client_secret_basic" && value !== "client_secret_post") {
    throw new TypeError(`${where} must be "client_secret_basic" or "client_secret_post".`);
  }
  return value;
}

/** What the provider tells a token request about itself, for errors. */
export interface TokenRequestContext {
  /** e.g. `clientCredentials for backend "orders"`: starts server-side (log) messages. */
  readonly label: string;
  /** The backend's name, for messages the model reads. */
  readonly backend: string;
  /** Who is refused access in a `forbidden` message: "this user", "this tool". */
  readonly refused: string;
}

export interface IssuedToken {
  readonly accessToken: string;
  /** Seconds, as the server said; undefined when it did not. */
  readonly expiresIn: number | undefined;
  readonly issuedTokenType: string | undefined;
}

/** Answers larger than this are not token responses. */
const MAX_BODY_BYTES = 64 * 1024;
/** What a retry waits when the token endpoint is down. */
const RETRY_AFTER_MS = 1000;
/** Token endpoint errors that mean this server's own client registration is wrong. */
const CLIENT_ERRORS = new Set(["invalid_client", "unauthorized_client"]);
/** Token endpoint errors that refuse this grant: this user, audience or scope. */
const REFUSALS = new Set(["invalid_grant", "invalid_scope", "invalid_target", "access_denied"]);
// Visible ASCII, no spaces: safe after "Bearer " in a header (RFC 6750's b64token is stricter).
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

/**
 * Client credentials are form-urlencoded before they are joined for HTTP Basic, so a
 * secret containing ":" or non-ASCII still round-trips.
 * https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}`;
}

/** Server text for a log line: bounded, one line, printable. */
function printable(value: unknown): string {
  return typeof value === "string"
    ? value.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)
    : value === undefined
      ? "(none)"
      : `(${typeof value})`;
}

/** What a call whose signal aborted rejects with: the signal's reason (the pipeline checks it). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("The call was aborted.", { cause: reason });
}

/** The body as text, or undefined when it is larger than MAX_BODY_BYTES. */
async function readBody(response: Response): Promise<string | undefined> {
  if (response.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * POSTs one token request (RFC 6749 §3.2) and returns the issued token, or throws:
 * `unavailable` (retryable) when the endpoint cannot be reached, is too slow or fails
 * (5xx, 429); `forbidden` when it refuses the grant, audience or scope; a plain Error
 * (becomes `internal`, logged) when this server's client or the answer is wrong. The
 * request stops when `signal` aborts (rejecting with its reason) or after the timeout.
 */
export async function requestToken(
  endpoint: TokenEndpoint,
  params: Record<string, string>,
  context: TokenRequestContext,
  signal: AbortSignal,
): Promise<IssuedToken> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (endpoint.authMethod === "client_secret_basic") {
    headers.authorization = basicAuth(endpoint.clientId, endpoint.clientSecret);
  } else {
    body.set("client_id", endpoint.clientId);
    body.set("client_secret", endpoint.clientSecret);
  }
  const deadline = AbortSignal.timeout(endpoint.timeoutMs);
  const down = (cause: unknown) => {
    if (signal.aborted) return abortReason(signal);
    const what = deadline.aborted
      ? `did not answer within ${endpoint.timeoutMs} ms`
      : "could not be reached";
    return unavailable(
      `The authorization server for ${context.backend} ${what}. Retry shortly.`,
      RETRY_AFTER_MS,
      cause,
    );
  };

  let response: Response;
  let text: string | undefined;
  try {
    const { fetch } = await loadUndici();
    response = await fetch(endpoint.url, {
      method: "POST",
      headers,
      body: body.toString(),
      // A redirect would replay the client secret and the subject token to another URL.
      redirect: "manual",
      signal: AbortSignal.any([signal, deadline]),
    });
    text = await readBody(response);
  } catch (error) {
    throw down(error);
  }
  const json = parseJson(text);

  if (response.status >= 200 && response.status < 300) return issuedToken(json, context);

  const code = isRecord(json) && isScopeToken(json.error) ? json.error : undefined;
  // The description goes to the log: a server that echoes what it was sent must not put
  // the secret or the user's token there.
  let description: unknown = isRecord(json) ? json.error_description : undefined;
  for (const secret of [endpoint.clientSecret, params.subject_token]) {
    if (typeof description === "string" && secret !== undefined) {
      description = description.split(secret).join("[redacted]");
    }
  }
  const detail = `HTTP ${response.status}${code === undefined ? "" : ` ${code}: ${printable(description)}`}`;
  const cause = new Error(`${context.label}: the token endpoint answered ${detail}.`);
  if (response.status >= 500 || response.status === 429 || response.status === 408) {
    throw unavailable(
      `The authorization server for ${context.backend} is failing. Retry shortly.`,
      RETRY_AFTER_MS,
      cause,
    );
  }
  if (code !== undefined && CLIENT_ERRORS.has(code)) {
    throw new Error(
      `${context.label}: the token endpoint rejected this server's client (${detail}). ` +
        `Check clientId, authMethod and the secret in ${endpoint.secretVariable}.`,
    );
  }
  if (code !== undefined && REFUSALS.has(code)) {
    throw new ToolError(
      "forbidden",
      `The authorization server would not give ${context.refused} access to ${context.backend} (${code}).`,
      { cause },
    );
  }
  if (response.status === 401) {
    throw new Error(
      `${context.label}: the token endpoint refused this server's client authentication (${detail}). ` +
        `Check clientId, authMethod and the secret in ${endpoint.secretVariable}.`,
    );
  }
  throw new Error(
    `${context.label}: the token endpoint at ${endpoint.url.origin}${endpoint.url.pathname} answered ${detail}; check tokenUrl and the provider's options.`,
  );
}

/** A 2xx answer that must carry a Bearer access token (RFC 6749 §5.1, RFC 8693 §2.2.1). */
function issuedToken(json: unknown, context: TokenRequestContext): IssuedToken {
  const broken = (why: string) =>
    new Error(`${context.label}: the token endpoint's success answer ${why}.`);
  if (!isRecord(json)) throw broken("is not a JSON object");
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = json;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw broken('has no "access_token" string');
  }
  if (!HEADER_TOKEN.test(accessToken)) throw broken('has an "access_token" unfit for a header');
  if (tokenType !== undefined && (typeof tokenType !== "string" || !/^bearer$/i.test(tokenType))) {
    throw broken(`has token_type ${printable(tokenType)}, not Bearer`);
  }
  const issuedTokenType =
    typeof json.issued_token_type === "string" ? json.issued_token_type : undefined;
  // Some servers send expires_in as a string; anything unreadable counts as absent.
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  const valid = typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0;
  return { accessToken, expiresIn: valid ? seconds : undefined, issuedTokenType };
}

/** Cache lifetime when the server gives no expires_in. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/** A token is refreshed this long before it expires: 10 % of its life, at most 30 s. */
const MAX_MARGIN_MS = 30_000;

/** When a token issued at `now` stops being reused. */
export function reuseUntil(expiresIn: number | undefined, now: number): number {
  if (expiresIn === undefined) return now + DEFAULT_LIFETIME_MS;
  const lifetime = expiresIn * 1000;
  return now + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 10);
}

// ---------------------------------------------------------------------------------------
// The cache.

interface Flight {
  promise: Promise<string>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * Tokens by key until their `until`, bounded (least recently used goes first), with
 * single flight: concurrent calls for one key share one token request. The shared
 * request stops when every call waiting on it has gone (each call's signal aborts),
 * and is otherwise bounded by the fetcher's own timeout. Failures are not cached.
 */
export class TokenCache {
  readonly #entries = new Map<string, { token: string; until: number }>();
  readonly #flights = new Map<string, Flight>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached token for `key`, or the one `fetcher` gets (joined if already asked for).
   * `fetcher` returns the token and the epoch ms until which it may be reused.
   */
  get(
    key: string,
    fetcher: (signal: AbortSignal) => Promise<{ token: string; until: number }>,
    signal: AbortSignal,
  ): Promise<string> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      if (entry.until > this.#now()) {
        this.#entries.set(key, entry); // most recently used goes last
        return Promise.resolve(entry.token);
      }
    }
    let flight = this.#flights.get(key);
    if (flight === undefined) flight = this.#start(key, fetcher);
    return this.#wait(key, flight, signal);
  }

  /** Forgets `key`'s token (the backend refused it). A request under way is not stopped. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  #start(
    key: string,
    fetcher: (signal: AbortSignal) => Promise<{ token: string; until: number }>,
  ): Flight {
    const flight: Flight = {
      promise: Promise.resolve(""),
      controller: new AbortController(),
      waiters: 0,
    };
    flight.promise = (async () => {
      try {
        const { token, until } = await fetcher(flight.controller.signal);
        if (until > this.#now() && this.#flights.get(key) === flight) this.#set(key, token, until);
        return token;
      } finally {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    })();
    // Observed by every waiter; when all have gone, nobody else is left to.
    flight.promise.catch(() => undefined);
    this.#flights.set(key, flight);
    return flight;
  }

  #wait(key: string, flight: Flight, signal: AbortSignal): Promise<string> {
    flight.waiters += 1;
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const leave = () => {
        done = true;
        flight.waiters -= 1;
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        if (done) return;
        leave();
        reject(abortReason(signal));
        if (flight.waiters === 0) {
          // Nobody waits any more: stop the request, and let the next call start afresh.
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(signal.reason);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (token) => {
          if (done) return;
          leave();
          resolve(token);
        },
        (error: unknown) => {
          if (done) return;
          leave();
          reject(
            error instanceof Error ? error : new Error("Token request failed.", { cause: error }),
          );
        },
      );
    });
  }

  #set(key: string, token: string, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { token, until });
    if (this.#entries.size > this.#maxEntries) {
      // Expired entries go first, then the least recently used.
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.until <= now) this.#entries.delete(k);
      while (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done === true) break;
        this.#entries.delete(oldest.value);
      }
    }
  }
}
