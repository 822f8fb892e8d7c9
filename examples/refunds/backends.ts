// The demo's backends: the one system outside this process that the tools call. The
// backend layer bounds every request, retries only what is safe to repeat, opens a
// circuit breaker when the provider keeps failing, maps its failures to typed tool errors,
// and gets each tool a credential with only the scope that tool declares.
import { clientCredentials, httpBackend, type BackendDefinition } from "../../src/index.js";

/**
 * The environment variable holding the payments client secret. The secret comes from the
 * environment (set from a secret store in a real deployment), never from configuration
 * text: config gets committed, copied into tickets and printed in logs; this only names
 * where the secret is.
 */
export const PAYMENTS_SECRET_ENV = "REFUNDS_PAYMENTS_CLIENT_SECRET";

/** Where the payments provider and its authorization server are (nothing secret). */
export interface PaymentsEndpoints {
  /** Base URL of the provider's API, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Its OAuth 2.0 token endpoint. */
  tokenUrl: string;
  /** This server's client id there. */
  clientId: string;
}

/**
 * The backends for `createToolServer({ backends })`. `clientCredentials` reads
 * `PAYMENTS_SECRET_ENV` once, here: set it before calling this (a missing or empty
 * variable is a TypeError at startup, not a failure on the first refund).
 */
export function refundsBackends(payments: PaymentsEndpoints): Record<string, BackendDefinition> {
  return {
    payments: httpBackend({
      baseUrl: payments.url,
      timeoutMs: 10_000,
      // OAuth 2.0 client credentials: short-lived tokens instead of a long-lived key. These
      // are the most any tool may get; each tool narrows them in its own `backends`
      // (issue_refund asks for refunds:write only), and a token is fetched per scope set.
      credential: clientCredentials({
        tokenUrl: payments.tokenUrl,
        clientId: payments.clientId,
        clientSecretFromEnv: PAYMENTS_SECRET_ENV,
        scope: ["refunds:read", "refunds:write"],
      }),
    }),
  };
}
