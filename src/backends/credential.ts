import type { Principal } from "../auth/principal.js";

/** What a credential provider gets for one outbound request. */
export interface CredentialRequest {
  /** Who the tool call is for. */
  readonly principal: Principal;
  /**
   * The caller's verified access token, for token exchange only (RFC 8693 subject token).
   * Never sent downstream as is. Undefined for anonymous calls and in-process calls.
   */
  readonly subjectToken: string | undefined;
  /** The scopes this tool asks for at this backend (its narrowing), or undefined for the provider's default. */
  readonly scope: readonly string[] | undefined;
  /** The tool call's signal: token requests stop with the call. */
  readonly signal: AbortSignal;
  /** The backend's name, for messages and logs. */
  readonly backend: string;
}

/**
 * Supplies the credential a backend request carries: least privilege, per backend (and
 * per tool scope, per user for token exchange). Resolved for every request; providers
 * cache what they fetch.
 */
export interface CredentialProvider {
  /** e.g. "static", "client_credentials", "token_exchange". */
  readonly kind: string;
  /**
   * The headers to add (e.g. `{ authorization: "Bearer ..." }`). Rejects with a ToolError:
   * `unavailable` when the token endpoint cannot be reached, `unauthenticated` when a user
   * token is needed but the call has none, `forbidden` when the authorization server
   * refuses this user or scope, `internal` for misconfiguration.
   */
  headers(request: CredentialRequest): Promise<Record<string, string>>;
  /** The backend answered 401 to what `headers` gave: forget cached tokens for this request. */
  invalidate?(request: CredentialRequest): void;
}
