import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/server";
import type { ResolvedAuth } from "../auth/auth-options.js";
import { bearerChallenge, type Challenge } from "../auth/challenge.js";
import type { Principal } from "../auth/principal.js";
import { buildResourceMetadata, resourceMetadataUrl } from "../auth/resource-metadata.js";
import { accessDenial } from "../auth/scopes.js";
import { DeadlineExceeded, settleBy } from "../util/deadline.js";
import { LazyAbort, withLazySignal } from "../util/lazy-abort.js";
import { AuthError, type VerifyOptions } from "../auth/verifier.js";
import { principalForRequest } from "../auth/subject-token.js";
import type { Logger } from "../log/logger.js";
import type { ToolDefinition } from "../tool/types.js";
import { AMBIGUOUS_AUTHORIZATION, hasAmbiguousAuthorization } from "./authorization-header.js";
import { INVALID_REQUEST, sendJson, sendJsonRpcError } from "./http-responses.js";

/** Where the verified principal rides through the SDK to the tool handlers. */
export const PRINCIPAL_KEY = "toolgate/principal";

export interface HttpRefusal {
  readonly status: number;
  readonly reason: string;
  readonly principal?: Principal;
  readonly tool?: string;
  /** Time spent deciding, in ms. */
  readonly latencyMs: number;
}

export interface HttpAuthenticator {
  /** Serves RFC 9728 metadata; false when the request is for something else. */
  serveMetadata(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Verifies the bearer token; answers 400/401/503 itself and returns undefined on refusal. */
  authenticate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Principal | undefined>;
  /** With `stepUp`, answers 403 `insufficient_scope` for a tools/call the token cannot make. */
  refuseForStepUp(res: ServerResponse, body: unknown, principal: Principal): boolean;
  /**
   * Answers 401 `invalid_token` when the token expired while the body was on its way (it
   * was checked when the headers arrived); true when it did.
   */
  refuseIfExpired(res: ServerResponse, principal: Principal): boolean;
}

// RFC 6750 §2.1: `Authorization: Bearer <b64token>`.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function createHttpAuthenticator(input: {
  auth: ResolvedAuth;
  resource: () => string;
  serverName: string;
  tools: readonly ToolDefinition[];
  lookup: (name: string) => ToolDefinition | undefined;
  log: Logger;
  /** Told of every refusal (audit and metrics): status, why, and for step-up who and which tool. */
  onRefusal?: (refusal: HttpRefusal) => void;
}): HttpAuthenticator {
  const { auth, log } = input;
  const scopes = input.tools.flatMap((t) => t.scopes);
  // The resource is fixed once the server listens: its metadata path is worked out once.
  let metadataFor: { resource: string; path: string } | undefined;
  const metadataPath = () => {
    const resource = input.resource();
    if (metadataFor?.resource !== resource)
      metadataFor = { resource, path: new URL(resourceMetadataUrl(resource)).pathname };
    return metadataFor.path;
  };

  function challenge(
    res: ServerResponse,
    status: number,
    fields: Omit<Challenge, "resourceMetadata">,
    started: number,
    who: { principal?: Principal; tool?: string } = {},
  ): undefined {
    const header = bearerChallenge({
      ...fields,
      resourceMetadata: resourceMetadataUrl(input.resource()),
    });
    const message =
      fields.description ?? "This server requires a bearer token in the Authorization header.";
    sendJsonRpcError(res, status, INVALID_REQUEST, message, { "www-authenticate": header });
    input.onRefusal?.({ status, reason: message, latencyMs: performance.now() - started, ...who });
    return undefined;
  }

  return {
    serveMetadata(req, res, url) {
      // RFC 9728 §3.1 path-specific location, and the root one for clients that try it first.
      const known =
        url.pathname === metadataPath() || url.pathname === "/.well-known/oauth-protected-resource";
      if (!known || req.method !== "GET") return false;
      sendJson(
        res,
        200,
        buildResourceMetadata({
          resource: input.resource(),
          authorizationServers: auth.authorizationServers,
          scopes,
          name: input.serverName,
        }),
      );
      return true;
    },

    async authenticate(req, res, url) {
      const started = performance.now();
      // Two credentials: which one a proxy in front checked is unknown. RFC 6750 §3.1:
      // invalid_request (400) for a request that "repeats the same parameter".
      if (hasAmbiguousAuthorization(req)) {
        return challenge(
          res,
          400,
          { error: "invalid_request", description: AMBIGUOUS_AUTHORIZATION },
          started,
        );
      }
      // RFC 6750 §2.3 allows query tokens, but they leak into logs and histories: refused.
      if (url.searchParams.has("access_token")) {
        return challenge(
          res,
          400,
          {
            error: "invalid_request",
            description: "Send the access token in the Authorization header, never in the URL.",
          },
          started,
        );
      }
      const header = req.headers.authorization;
      if (header === undefined || header === "") return challenge(res, 401, {}, started);
      const match = BEARER.exec(header);
      if (!match?.[1]) {
        return challenge(
          res,
          400,
          {
            error: "invalid_request",
            description: "The Authorization header must be 'Bearer <token>'.",
          },
          started,
        );
      }
      try {
        const token = match[1];
        const resource = input.resource();
        const verified =
          auth.verifier.cached?.(token, { resource }) ??
          (await verifyWithin(auth.verifyTimeoutMs, resource, (options) =>
            auth.verifier.verify(token, options),
          ));
        // A verifier's clock tolerance may pass a token just past `exp`; OAuth clients only
        // refresh on a 401, so an expired token is refused here, not as a tool result later.
        if (verified.expiresAt !== undefined && verified.expiresAt <= Date.now()) {
          return challenge(
            res,
            401,
            {
              error: "invalid_token",
              description: "The access token has expired.",
            },
            started,
          );
        }
        // This request's own principal, its token beside it for RFC 8693 token exchange by
        // a backend credential only; never handed to tools (see principalForRequest).
        const principal = principalForRequest(verified, token);
        const info: AuthInfo = {
          token: "", // never carried further: no token passthrough (the principal is enough)
          clientId: principal.clientId ?? "",
          scopes: [...principal.scopes],
          extra: { [PRINCIPAL_KEY]: principal },
        };
        if (principal.expiresAt !== undefined)
          info.expiresAt = Math.floor(principal.expiresAt / 1000);
        (req as IncomingMessage & { auth?: AuthInfo }).auth = info;
        return principal;
      } catch (error) {
        if (error instanceof AuthError && error.code === "unavailable") {
          log.warn(
            { reason: error.message },
            "token verification unavailable; refusing (fail closed)",
          );
          sendJsonRpcError(
            res,
            503,
            -32000,
            "The authorization service is unavailable. Retry later.",
            {
              "retry-after": "5",
            },
          );
          input.onRefusal?.({
            status: 503,
            reason: "token verification unavailable",
            latencyMs: performance.now() - started,
          });
          return undefined;
        }
        if (error instanceof AuthError) {
          const code = error.code === "invalid_request" ? "invalid_request" : "invalid_token";
          return challenge(
            res,
            code === "invalid_request" ? 400 : 401,
            {
              error: code,
              description: error.message,
            },
            started,
          );
        }
        log.error({ err: error }, "token verifier failed unexpectedly; refusing");
        return challenge(
          res,
          401,
          {
            error: "invalid_token",
            description: "The access token could not be verified.",
          },
          started,
        );
      }
    },

    refuseIfExpired(res, principal) {
      if (principal.expiresAt === undefined || principal.expiresAt > Date.now()) return false;
      challenge(
        res,
        401,
        { error: "invalid_token", description: "The access token has expired." },
        performance.now(),
        { principal },
      );
      return true;
    },

    refuseForStepUp(res, body, principal) {
      const started = performance.now();
      if (!auth.stepUp || !isToolsCall(body)) return false;
      const tool = input.lookup(body.params.name);
      // The one scope rule; the token itself was just verified, so only scopes can be missing.
      const denial =
        tool && accessDenial(principal, tool.scopes, tool.name, { verifiedOnArrival: true });
      if (!tool || denial?.type !== "forbidden") return false;
      // RFC 6750 §3.1: insufficient_scope -> 403 naming every scope the call needs.
      challenge(
        res,
        403,
        {
          error: "insufficient_scope",
          description: `${tool.name} needs the scope(s) ${tool.scopes.join(" ")}.`,
          scope: [...new Set([...principal.scopes, ...tool.scopes])],
        },
        started,
        { principal, tool: tool.name },
      );
      return true;
    },
  };
}

function isToolsCall(body: unknown): body is { params: { name: string } } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const message = body as { method?: unknown; params?: { name?: unknown } };
  return message.method === "tools/call" && typeof message.params?.name === "string";
}

/**
 * Runs a verification with an abort signal and a hard deadline, so a verifier that hangs
 * (a custom one ignoring its signal) cannot hang the request. The timer is always cleared.
 */
/**
 * Runs a verification bounded by `ms`. Its VerifyOptions carry the cancellation twice:
 * `cancellation` for verifiers that only listen (toolgate's jwtVerifier), and `signal`,
 * made when first read (an introspection fetch, a custom verifier).
 */
async function verifyWithin<T>(
  ms: number,
  resource: string,
  run: (options: VerifyOptions) => Promise<T>,
): Promise<T> {
  const abort = new LazyAbort();
  const options = withLazySignal({ resource, cancellation: abort }, abort);
  try {
    return await settleBy(
      Promise.resolve().then(() => run(options)),
      abort,
      { until: Date.now() + ms },
    );
  } catch (error) {
    if (error instanceof DeadlineExceeded)
      throw new AuthError("unavailable", "Token verification took too long.");
    throw error;
  }
}
