// The credential providers a backend can be declared with: a static secret from the
// environment, OAuth 2.0 client credentials (RFC 6749 §4.4), and token exchange for the
// signed-in user (RFC 8693). Secrets are read from the environment once, at startup, and
// are never part of configuration, messages or logs.
import { createHash } from "node:crypto";
import { unauthenticated } from "../errors/tool-error.js";
import type { CredentialProvider, CredentialRequest } from "./credential.js";
import {
  isScopeToken,
  knownOptions,
  normalizeScope,
  scopeOption,
  secretFromEnv,
  timeoutOption,
  tokenUrlOption,
} from "./credential-options.js";
import { TokenCache, reuseUntil } from "./token-cache.js";
import {
  authMethodOption,
  requestToken,
  type ClientAuthMethod,
  type TokenEndpoint,
} from "./token-endpoint.js";
import { nonEmptyString } from "../auth/claims.js";

export type { ClientAuthMethod } from "./token-endpoint.js";

export interface StaticCredentialOptions {
  /** The header to set. Default "authorization". */
  header?: string;
  /** The environment variable holding the secret; read once, when the provider is made. */
  valueFromEnv: string;
  /** Put before the secret with a space, e.g. "Bearer". */
  scheme?: string;
}

interface OAuthClientOptions {
  /** The authorization server's token endpoint (http or https). */
  tokenUrl: string | URL;
  /** This server's client at the authorization server. */
  clientId: string;
  /** The environment variable holding the client secret; read once, when the provider is made. */
  clientSecretFromEnv: string;
  /** How the client authenticates (RFC 6749 §2.3.1). Default "client_secret_basic". */
  authMethod?: ClientAuthMethod;
  /** Bound on one token request. Default 5000 ms. */
  timeoutMs?: number;
  /** The clock, epoch ms (tests). Default Date.now. */
  now?: () => number;
}

export interface ClientCredentialsOptions extends OAuthClientOptions {
  /** The scopes asked for; a tool may narrow them (a subset), never widen them. */
  scope?: readonly string[];
  /** Sent as `audience` (a common extension, e.g. Auth0). */
  audience?: string;
}

export interface TokenExchangeOptions extends OAuthClientOptions {
  /** The backend the issued token is for (RFC 8693 `audience`). */
  audience: string;
  /** The scopes asked for; a tool may narrow them (a subset), never widen them. */
  scope?: readonly string[];
  /** The backend's URI (RFC 8693 / RFC 8707 `resource`). */
  resource?: string;
}

export interface StaticCredential extends CredentialProvider {
  readonly kind: "static";
}
export interface ClientCredentialsProvider extends CredentialProvider {
  readonly kind: "client_credentials";
  invalidate(request: CredentialRequest): void;
}
export interface TokenExchangeProvider extends CredentialProvider {
  readonly kind: "token_exchange";
  invalidate(request: CredentialRequest): void;
}

// RFC 9110 §5.6.2 token: a header name, or an auth scheme.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers that frame or route the request: a credential must not set them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);
// A header value: visible ASCII, inner spaces and tabs allowed.
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

/** A fixed secret from the environment in one header, e.g. an API key. */
export function staticCredential(options: StaticCredentialOptions): StaticCredential {
  knownOptions(options, ["header", "valueFromEnv", "scheme"], "staticCredential");
  const header = (options.header ?? "authorization").toLowerCase();
  if (!TOKEN.test(header) || RESERVED_HEADERS.has(header)) {
    throw new TypeError("staticCredential: header must be a valid HTTP header name.");
  }
  if (options.scheme !== undefined && !TOKEN.test(options.scheme)) {
    throw new TypeError('staticCredential: scheme must be one word, e.g. "Bearer".');
  }
  const secret = secretFromEnv(options.valueFromEnv, "staticCredential: valueFromEnv");
  if (!HEADER_VALUE.test(secret)) {
    throw new TypeError(
      `staticCredential: the environment variable ${options.valueFromEnv} holds characters ` +
        "an HTTP header cannot carry (control characters, non-ASCII, or leading/trailing whitespace).",
    );
  }
  const value = options.scheme === undefined ? secret : `${options.scheme} ${secret}`;
  return Object.freeze({
    kind: "static" as const,
    headers: () => Promise.resolve({ [header]: value }),
  });
}

/**
 * A token for this server itself (RFC 6749 §4.4), per scope set: the tool's narrowing
 * when it has one, else the configured scope. Cached until shortly before it expires.
 */
export function clientCredentials(options: ClientCredentialsOptions): ClientCredentialsProvider {
  const where = "clientCredentials";
  knownOptions(options, [...OAUTH_OPTIONS, "scope", "audience"], where);
  const endpoint = endpointOf(options, where);
  const scope = scopeOption(options.scope, `${where}: scope`);
  const audience =
    options.audience === undefined
      ? undefined
      : nonEmptyString(options.audience, `${where}: audience`);
  const now = clockOption(options.now, where);
  const cache = new TokenCache({ now });

  return Object.freeze({
    kind: "client_credentials" as const,
    async headers(request: CredentialRequest) {
      const label = `${where} for backend "${request.backend}"`;
      const wanted = scopeFor(request, scope, label);
      const key = wanted?.join(" ") ?? "";
      const token = await cache.get(
        key,
        async (signal) => {
          const params: Record<string, string> = { grant_type: "client_credentials" };
          if (wanted !== undefined && wanted.length > 0) params.scope = wanted.join(" ");
          if (audience !== undefined) params.audience = audience;
          const context = { label, backend: request.backend, refused: "this tool" };
          const issued = await requestToken(endpoint, params, context, signal);
          return { token: issued.accessToken, until: reuseUntil(issued.expiresIn, now()) };
        },
        request.signal,
      );
      return { authorization: `Bearer ${token}` };
    },
    invalidate(request: CredentialRequest) {
      const label = `${where} for backend "${request.backend}"`;
      cache.delete(scopeFor(request, scope, label)?.join(" ") ?? "");
    },
  });
}

/**
 * A token for this backend and this user (RFC 8693): the call's verified access token is
 * exchanged at the authorization server, which decides what this user may get there.
 * The caller's token goes only to the token endpoint, as `subject_token`. Cached per
 * (subject token, scope set), never past the subject's own expiry.
 */
export function tokenExchange(options: TokenExchangeOptions): TokenExchangeProvider {
  const where = "tokenExchange";
  knownOptions(options, [...OAUTH_OPTIONS, "scope", "audience", "resource"], where);
  const endpoint = endpointOf(options, where);
  const audience = nonEmptyString(options.audience, `${where}: audience`);
  const scope = scopeOption(options.scope, `${where}: scope`);
  const resource = resourceOption(options.resource, `${where}: resource`);
  const now = clockOption(options.now, where);
  const cache = new TokenCache({ now });

  const keyOf = (request: CredentialRequest, subjectToken: string, label: string) => {
    const hash = createHash("sha256").update(subjectToken).digest("base64url");
    return `${hash} ${scopeFor(request, scope, label)?.join(" ") ?? ""}`;
  };

  return Object.freeze({
    kind: "token_exchange" as const,
    async headers(request: CredentialRequest) {
      const label = `${where} for backend "${request.backend}"`;
      const { subjectToken, principal } = request;
      if (subjectToken === undefined || subjectToken === "") {
        throw unauthenticated(
          `This tool calls ${request.backend} on behalf of a signed-in user, and the call has ` +
            "no user token. Sign in and retry with an access token.",
        );
      }
      const subjectExpiresAt = principal.expiresAt ?? Infinity;
      if (subjectExpiresAt <= now()) {
        throw unauthenticated("The user's access token has expired. Sign in again and retry.");
      }
      const wanted = scopeFor(request, scope, label);
      const token = await cache.get(
        keyOf(request, subjectToken, label),
        async (signal) => {
          // https://www.rfc-editor.org/rfc/rfc8693#section-2.1
          const params: Record<string, string> = {
            grant_type: TOKEN_EXCHANGE,
            subject_token: subjectToken,
            subject_token_type: ACCESS_TOKEN_TYPE,
            requested_token_type: ACCESS_TOKEN_TYPE,
            audience,
          };
          if (resource !== undefined) params.resource = resource;
          if (wanted !== undefined && wanted.length > 0) params.scope = wanted.join(" ");
          const context = { label, backend: request.backend, refused: "this user" };
          const issued = await requestToken(endpoint, params, context, signal);
          const type = issued.issuedTokenType;
          if (type !== undefined && type !== ACCESS_TOKEN_TYPE && type !== JWT_TOKEN_TYPE) {
            throw new Error(
              `${label}: the token endpoint issued a token of type ${type.slice(0, 100)}, not an access token.`,
            );
          }
          const until = Math.min(reuseUntil(issued.expiresIn, now()), subjectExpiresAt);
          return { token: issued.accessToken, until };
        },
        request.signal,
      );
      return { authorization: `Bearer ${token}` };
    },
    invalidate(request: CredentialRequest) {
      if (request.subjectToken === undefined || request.subjectToken === "") return;
      const label = `${where} for backend "${request.backend}"`;
      cache.delete(keyOf(request, request.subjectToken, label));
    },
  });
}

const OAUTH_OPTIONS = [
  "tokenUrl",
  "clientId",
  "clientSecretFromEnv",
  "authMethod",
  "timeoutMs",
  "now",
] as const;

function endpointOf(options: OAuthClientOptions, where: string): TokenEndpoint {
  return {
    url: tokenUrlOption(options.tokenUrl, `${where}: tokenUrl`),
    clientId: nonEmptyString(options.clientId, `${where}: clientId`),
    clientSecret: secretFromEnv(options.clientSecretFromEnv, `${where}: clientSecretFromEnv`),
    secretVariable: options.clientSecretFromEnv,
    authMethod: authMethodOption(options.authMethod, `${where}: authMethod`),
    timeoutMs: timeoutOption(options.timeoutMs, `${where}: timeoutMs`),
  };
}

function clockOption(value: unknown, where: string): () => number {
  if (value === undefined) return Date.now;
  if (typeof value !== "function") throw new TypeError(`${where}: now must be a function.`);
  return value as () => number;
}

/** RFC 8693 §2.1: an absolute URI without a fragment. */
function resourceOption(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(nonEmptyString(value, where));
  } catch {
    url = undefined;
  }
  if (url === undefined || url.hash !== "") {
    throw new TypeError(`${where} must be an absolute URI without a fragment.`);
  }
  return value as string;
}

/**
 * The scope set one request asks for: the tool's narrowing when it has one (a subset of
 * the configured scope, when one is configured), else the configured scope. A tool that
 * asks for more is misconfigured: a plain Error, so the call fails as `internal`.
 */
function scopeFor(
  request: CredentialRequest,
  configured: readonly string[] | undefined,
  label: string,
): readonly string[] | undefined {
  const requested = request.scope;
  if (requested === undefined || requested.length === 0) return configured;
  if (!requested.every(isScopeToken)) {
    throw new Error(`${label}: the tool's scope is not a list of OAuth scope tokens.`);
  }
  const wanted = normalizeScope(requested);
  const extra = configured === undefined ? [] : wanted.filter((s) => !configured.includes(s));
  if (extra.length > 0) {
    throw new Error(
      `${label}: the tool asks for scope ${extra.join(" ")} beyond the provider's scope (${configured?.join(" ")}).`,
    );
  }
  return wanted;
}
