// The implementation of a call's client features (ToolContext's progress, clientLog,
// sample, elicit); their types are the tool's (src/tool/client-features.ts).
import {
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  type CreateMessageRequestParams,
  type ElicitRequestFormParams,
  type ElicitRequestURLParams,
  type LoggingLevel,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { ToolError } from "../../errors/tool-error.js";
import type { ClientFeatures } from "../../tool/client-features.js";
import type { LazyAbort } from "../../util/lazy-abort.js";
import type { CallContext } from "../types.js";

type Feature = "sampling" | "elicitation";

/** Why a server-to-client request cannot be made (in the error's `details.reason`). */
type UnsupportedReason =
  "in_process" | "stateless_http" | "protocol_revision" | "client_capability";

const LOGGING_LEVELS: ReadonlySet<string> = new Set([
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
]);

const WHAT: Readonly<Record<Feature, string>> = {
  sampling: "a completion from the client's model (sampling)",
  elicitation: "input from the user through the client (elicitation)",
};

/**
 * `conflict` because it is the honest non-retryable type: the call conflicts with the
 * connection it came on (who called, over what, with which capabilities). The same call
 * fails the same way on a retry, so `unavailable` (retryable) would invite a loop; the
 * arguments are fine, so `invalid_input` would make the model rewrite them in vain; it is
 * no permission matter (`forbidden`) and no surprise (`internal`, incident ids).
 */
function unsupported(feature: Feature, reason: UnsupportedReason, revision?: string): ToolError {
  const need = `This tool needs ${WHAT[feature]} while it runs`;
  const because: Record<UnsupportedReason, string> = {
    in_process: "but this call did not come from an MCP client that could answer.",
    stateless_http:
      "but this server serves HTTP statelessly, so the client's answer could not reach it (stateful sessions are needed).",
    protocol_revision: `but protocol revision ${revision ?? "2026-07-28"} has no requests from server to client.`,
    client_capability: `but the client does not support it (capability '${feature}').`,
  };
  return new ToolError("conflict", `${need}, ${because[reason]} Retrying will not help.`, {
    details: { clientFeature: feature, reason },
  });
}

/** The protocol revision of a 2026-07-28-era request (carried in its `_meta` envelope). */
function modernRevision(sdk: ServerContext): string | undefined {
  const envelope: Readonly<Record<string, unknown>> | undefined = sdk.mcpReq.envelope;
  const revision = envelope?.[PROTOCOL_VERSION_META_KEY];
  return typeof revision === "string" ? revision : undefined;
}

/**
 * Builds the client features of one call. `abort` and `deadline` are the handler's; the
 * features stop (no-ops, or a throw for requests) when the call's handler stage ends.
 */
export function createClientFeatures(
  ctx: CallContext,
  abort: LazyAbort,
  deadline: number,
): ClientFeatures {
  const sdk = ctx.sdk;
  let finished = false;
  ctx.record.cleanups.push(() => {
    finished = true;
  });
  const ended = () => finished || abort.aborted;
  const progressToken = sdk?.mcpReq._meta?.progressToken;
  let lastProgress = -Infinity;

  async function progress(value: number, total?: number, message?: string): Promise<void> {
    if (!sdk || progressToken === undefined || ended()) return;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= lastProgress) {
      ctx.log.debug({ progress: value, last: lastProgress }, "progress dropped: must increase");
      return;
    }
    lastProgress = value;
    try {
      await sdk.mcpReq.notify({
        method: "notifications/progress",
        params: {
          progressToken,
          progress: value,
          ...(typeof total === "number" && Number.isFinite(total) ? { total } : {}),
          ...(typeof message === "string" ? { message } : {}),
        },
      });
    } catch (error) {
      ctx.log.debug({ err: error }, "progress notification failed");
    }
  }

  async function clientLog(level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    if (!sdk || ended()) return;
    if (!LOGGING_LEVELS.has(level)) {
      ctx.log.debug({ level }, "client log message dropped: unknown level");
      return;
    }
    try {
      // The SDK applies the client's level and sends only if the server declared `logging`.
      await sdk.mcpReq.log(level, data, logger);
    } catch (error) {
      ctx.log.debug({ err: error }, "client log notification failed");
    }
  }

  /** Runs one server-to-client request with the call's bounds, mapping every failure. */
  async function request<T>(
    feature: Feature,
    send: (sdk: ServerContext, options: { signal: AbortSignal; timeout: number }) => Promise<T>,
  ): Promise<T> {
    if (!sdk) throw unsupported(feature, "in_process");
    if (finished && !abort.aborted) {
      throw new Error(
        `ctx.${feature === "sampling" ? "sample" : "elicit"}() after the call ended.`,
      );
    }
    if (abort.aborted) throw abort.reason;
    const revision = modernRevision(sdk);
    if (revision !== undefined) throw unsupported(feature, "protocol_revision", revision);
    // Per-request (stateless) HTTP serving: the request could go out on the POST's stream,
    // but the client's answer arrives as a new POST served by a fresh instance, so it would
    // never be matched (and the instance never saw the client's capabilities).
    if (sdk.http?.req !== undefined && sdk.sessionId === undefined) {
      throw unsupported(feature, "stateless_http");
    }
    try {
      const timeout = Math.max(1, deadline - Date.now());
      return await send(sdk, { signal: abort.signal, timeout });
    } catch (error) {
      // The deadline or the client's cancel: execute answers with `timeout`.
      if (abort.aborted) throw abort.reason;
      throw mapRequestError(feature, error);
    }
  }

  function mapRequestError(feature: Feature, error: unknown): ToolError {
    if (error instanceof SdkError) {
      if (error.code === SdkErrorCode.CapabilityNotSupported)
        return unsupported(feature, "client_capability");
      if (error.code === SdkErrorCode.MethodNotSupportedByProtocolVersion)
        return unsupported(feature, "protocol_revision");
      if (error.code === SdkErrorCode.RequestTimeout) {
        return new ToolError(
          "timeout",
          `The client did not answer the ${feature} request before the call's deadline.`,
          { cause: error },
        );
      }
    }
    // A client that does not handle the method answers "method not found".
    if (error instanceof ProtocolError && error.code === Number(ProtocolErrorCode.MethodNotFound)) {
      return unsupported(feature, "client_capability");
    }
    // The client answered with an error (a user may refuse sampling), an answer that is
    // not a valid result, or the connection failed: worth one retry later, so retryable.
    const code = error instanceof ProtocolError ? ` (error ${error.code})` : "";
    return new ToolError(
      "unavailable",
      `The client could not complete the ${feature} request${code}. Retry later.`,
      { cause: error },
    );
  }

  function sample(params: CreateMessageRequestParams) {
    return request("sampling", (sdk, options) =>
      sdk.mcpReq.requestSampling(params, { ...options, relatedRequestId: sdk.mcpReq.id }),
    );
  }

  function elicit(params: ElicitRequestFormParams | ElicitRequestURLParams) {
    return request("elicitation", (sdk, options) =>
      sdk.mcpReq.elicitInput(params, { ...options, relatedRequestId: sdk.mcpReq.id }),
    );
  }

  return { progress, clientLog, sample: sample as ClientFeatures["sample"], elicit };
}
