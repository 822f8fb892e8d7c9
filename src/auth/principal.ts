/** Who a call is for. Filled by the auth stage; anonymous when auth is off. */
export interface Principal {
  readonly issuer: string;
  readonly subject: string;
  readonly tenant?: string;
  /** The OAuth client (agent or host) that holds the token, when the token says. */
  readonly clientId?: string;
  readonly scopes: readonly string[];
  /** Epoch milliseconds at which the credential expires. */
  readonly expiresAt?: number;
  /** The verified token's claims (JWT payload or introspection response). Never the token. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly anonymous: boolean;
}

export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  issuer: "toolgate:anonymous",
  subject: "anonymous",
  scopes: Object.freeze([]),
  claims: Object.freeze({}),
  anonymous: true,
});
