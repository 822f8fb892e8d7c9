// How resources/read, prompts/get and completion/complete are served: as adapters of the
// one pipeline (architecture page, "One pipeline, thin adapters"). Each handler turns its
// request into one operation call (src/tool/operation.ts); the server runs its composed
// stages on it (authorization, the one deadline, validation, error mapping, audit), and
// what comes back is written out here in JSON-RPC terms: the operation's output as the
// result, a typed error of the contract as the JSON-RPC error clients already know. Nothing
// here decides anything about the call; listings (isVisible) are not calls.
import { randomUUID } from "node:crypto";
import {
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import { mayUse } from "../auth/scopes.js";
import { readWireError, type WireError } from "../errors/to-result.js";
import type { Logger } from "../log/logger.js";
import type { CallContext } from "../pipeline/types.js";
import type { ToolDefinition } from "../tool/types.js";

/** One request of a resource, prompt or completion, as its handler hands it to the pipeline. */
export interface OperationCall {
  readonly kind: NonNullable<CallContext["kind"]>;
  /** The definition's operation (resourceOperation, promptOperation, completionOperation). */
  readonly operation: ToolDefinition;
  /** How refusals and timeouts name it: "Resource test://x", "Prompt 'p'". */
  readonly label: string;
  /** The request's parameters, untrusted: validateInput parses them with the operation. */
  readonly rawArguments: unknown;
  /** `params._meta` of the request. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  /** The server log bound to this request ({ resource }, { prompt }...). */
  readonly log: Logger;
}

/** Everything the resource, prompt and completion handlers need from the serving unit. */
export interface ServingDeps {
  /** Whether an auth verifier is configured (listings filtered by scopes). */
  readonly authEnabled: boolean;
  /** The caller of one MCP request (the factory's `principalOf`). */
  readonly principalOf: (sdkCtx: ServerContext) => Principal;
  readonly log: Logger;
  /** Runs one operation call through the server's composed, observed pipeline. */
  readonly runOperation: (call: OperationCall, sdkCtx: ServerContext) => Promise<CallToolResult>;
}

/** Whether a definition guarded by `scopes` is listed to this caller (same rule as tools/list). */
export function isVisible(deps: ServingDeps, principal: Principal, scopes: readonly string[]) {
  return !deps.authEnabled || mayUse(principal, scopes);
}

export interface Rendering {
  /** For messages of unexpected failures: "Reading test://x", "Prompt 'p'". */
  readonly what: string;
  /** The error for `not_found`: ResourceNotFoundError for resources, Invalid Params otherwise. */
  readonly notFound: (message: string) => ProtocolError;
}

/**
 * Runs `call` through the pipeline and returns the operation's output (the result's
 * `structuredContent`, the very object the definition's function produced), or throws the
 * JSON-RPC error for the typed error the pipeline answered with.
 */
export async function serveOperation(
  deps: ServingDeps,
  call: OperationCall,
  sdkCtx: ServerContext,
  rendering: Rendering,
): Promise<Record<string, unknown>> {
  let result: CallToolResult;
  try {
    result = await deps.runOperation(call, sdkCtx);
  } catch (error) {
    // Only a stage list without mapErrors rejects; its cause must not reach the client.
    throw internalError(call.log, rendering.what, error);
  }
  if (result.isError !== true) {
    const output: unknown = result.structuredContent;
    if (typeof output === "object" && output !== null) return output as Record<string, unknown>;
    throw internalError(
      call.log,
      rendering.what,
      new TypeError(`a stage answered ${call.operation.name} without the operation's output`),
    );
  }
  const wire = readWireError(result);
  if (!wire) {
    throw internalError(
      call.log,
      rendering.what,
      new TypeError(`a stage answered ${call.operation.name} with an untyped error result`),
    );
  }
  throw toProtocolError(wire, rendering);
}

/**
 * The JSON-RPC error for a typed error of the contract: `not_found` as `notFound`,
 * `invalid_input` as Invalid Params, `unauthenticated`/`forbidden` as Invalid Request
 * (-32600, as toolgate's HTTP refusals, a forbidden one naming every scope needed),
 * anything else as Internal Error; `data.type` carries the contract's type.
 */
function toProtocolError(wire: WireError, rendering: Rendering): ProtocolError {
  const data: Record<string, unknown> = { type: wire.type, retryable: wire.retryable };
  if (wire.retryAfterMs !== undefined) data["retryAfterMs"] = wire.retryAfterMs;
  if (wire.details !== undefined) data["details"] = wire.details;
  switch (wire.type) {
    case "not_found":
      return rendering.notFound(wire.message);
    case "invalid_input": {
      // Prompt argument issues ({ argument, message }) where prompts/get has always had them.
      const issues = wire.details?.["issues"];
      return new ProtocolError(ProtocolErrorCode.InvalidParams, wire.message, {
        ...data,
        ...(Array.isArray(issues) ? { issues } : {}),
      });
    }
    case "unauthenticated":
    case "forbidden": {
      const scopes = wire.details?.["requiredScopes"];
      return refusal(wire.type, wire.message, Array.isArray(scopes) ? scopes : undefined);
    }
    default:
      if (wire.incidentId === undefined)
        return new ProtocolError(ProtocolErrorCode.InternalError, wire.message, data);
      // The incident is the pipeline's (mapErrors logged the cause under this id).
      return new ProtocolError(
        ProtocolErrorCode.InternalError,
        `${rendering.what} failed unexpectedly. Report incident ${wire.incidentId} if this keeps happening.`,
        { ...data, incidentId: wire.incidentId },
      );
  }
}

/**
 * A caller refused (the one scope rule said no): Invalid Request (-32600, as toolgate's HTTP
 * refusals), `data.type` the contract's type, and a forbidden one names every scope needed.
 * Shared by calls (the authorize stage's answer) and subscriptions (no call runs).
 */
export function refusal(
  type: "unauthenticated" | "forbidden",
  message: string,
  requiredScopes: readonly unknown[] | undefined,
): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidRequest, message, {
    type,
    ...(requiredScopes ? { requiredScopes: [...requiredScopes] } : {}),
  });
}

/** Internal Error with a fresh incident id; the cause is logged, never sent. */
function internalError(log: Logger, what: string, cause: unknown): ProtocolError {
  const incidentId = randomUUID();
  log.error({ incidentId, err: cause }, `${what} failed unexpectedly`);
  return new ProtocolError(
    ProtocolErrorCode.InternalError,
    `${what} failed unexpectedly. Report incident ${incidentId} if this keeps happening.`,
    { type: "internal", retryable: false, incidentId },
  );
}
