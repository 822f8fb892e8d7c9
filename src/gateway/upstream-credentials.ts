// The gateway's own credential at one upstream: the discovery credential (the SDK client's
// initialize and tools/list) and each call's (resolved per user: token exchange), with a
// credential that cannot be had told apart from the caller's own problem. What a refusal
// means is read in upstream-outcome.ts.
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { subjectTokenOf } from "../auth/subject-token.js";
import type { CredentialRequest } from "../backends/credential.js";
import { ToolError } from "../errors/tool-error.js";
import type { Logger } from "../log/logger.js";
import type { UpstreamOptions } from "./options.js";
import { UpstreamCredentialRefused } from "./upstream-errors.js";
import { credentialOutcome } from "./upstream-outcome.js";
import type { UpstreamCall } from "./upstream-types.js";

export interface UpstreamCredentials {
  /** Headers of the SDK client's requests; may throw if the credential cannot be had. */
  readonly discoveryHeaders: () => Promise<Record<string, string>>;
  /**
   * Headers of one call; a failure to get them means nothing was sent. Undefined when the
   * upstream has no credential (no promise to await per call).
   */
  readonly callHeaders: ((call: UpstreamCall) => Promise<Record<string, string>>) | undefined;
  /** Forgets the call's cached credential (the upstream refused it: it may be revoked). */
  readonly invalidate: (call: UpstreamCall) => void;
}

export function upstreamCredentials(
  name: string,
  options: Pick<UpstreamOptions, "credential" | "discoveryCredential">,
  connectTimeoutMs: number,
  log: Logger,
): UpstreamCredentials {
  const request = (principal: Principal, signal: AbortSignal): CredentialRequest => ({
    principal,
    subjectToken: subjectTokenOf(principal),
    scope: undefined,
    signal,
    backend: name,
  });
  // A forwarded call is the hot path: with no credential it awaits nothing.
  const credential = options.credential;
  return {
    discoveryHeaders: async () => {
      const discovery = options.discoveryCredential ?? credential;
      if (!discovery) return {};
      return discovery.headers(request(ANONYMOUS_PRINCIPAL, AbortSignal.timeout(connectTimeoutMs)));
    },
    callHeaders: credential
      ? async (call) => {
          try {
            return await credential.headers(request(call.principal, call.cancellation.signal));
          } catch (error) {
            if (call.cancellation.aborted) throw error;
            // The caller's own problem (no user token, refused for this user): theirs to fix.
            if (
              error instanceof ToolError &&
              error.type !== "internal" &&
              error.type !== "unavailable"
            )
              throw error;
            const failure = credentialOutcome(error, name);
            if (failure instanceof UpstreamCredentialRefused)
              log.error({ reason: failure.message }, "could not get the credential for a call");
            throw failure;
          }
        }
      : undefined,
    invalidate: (call) => {
      credential?.invalidate?.(request(call.principal, call.cancellation.signal));
    },
  };
}
