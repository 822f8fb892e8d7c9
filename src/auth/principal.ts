/** Who a call is for. Filled by the auth stage; anonymous when auth is off. */
export interface Principal {
  readonly issuer: string;
  readonly subject: string;
  readonly tenant?: string;
  readonly clientId?: string;
  readonly scopes: readonly string[];
  /** Epoch milliseconds at which the credential expires. */
  readonly expiresAt?: number;
  readonly anonymous: boolean;
}

export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  issuer: "toolgate:anonymous",
  subject: "anonymous",
  scopes: Object.freeze([]),
  anonymous: true,
});
