// One token request to an authorization server's token endpoint (RFC 6749 §3.2), made for
// the OAuth credential providers, with its failures mapped to the error contract.
import type { Response } from "undici";
import { loadUndici } from "../util/undici.js";
import { ToolError, unavailable } from "../errors/tool-error.js";
import { isRecord } from "../util/is-record.js";
import { abortReason } from "./abort-reason.js";
import { isScopeToken } from "./credential-options.js";

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
