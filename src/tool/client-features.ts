import type {
  CreateMessageRequestParams,
  CreateMessageRequestParamsBase,
  CreateMessageRequestParamsWithTools,
  CreateMessageResult,
  CreateMessageResultWithTools,
  ElicitRequestFormParams,
  ElicitRequestURLParams,
  ElicitResult,
  LoggingLevel,
} from "@modelcontextprotocol/server";

/**
 * What a running tool call can ask of the MCP client that made it: progress
 * notifications, log messages, sampling and elicitation. Part of `ToolContext`.
 */
export interface ClientFeatures {
  /**
   * Reports progress to the client (`notifications/progress`) when the request asked for it
   * (`_meta.progressToken`). `progress` must increase from one report to the next (the
   * protocol requires it): a report that does not, or that is not a finite number, is
   * dropped. A no-op without a token, for in-process calls and once the call has finished.
   * Never throws: a failed notification is logged at debug level.
   */
  readonly progress: (progress: number, total?: number, message?: string) => Promise<void>;
  /**
   * Sends a log message to the client (`notifications/message`), above the level the
   * client chose (`logging/setLevel` on a 2025-era connection, the request's log level on
   * 2026-07-28, where nothing is sent unless the request carries one). Unlike `log`, this
   * reaches the user's client: never put secrets or internals in `data`. Deprecated by the
   * protocol as of 2026-07-28 (SEP-2577; still served during the deprecation window): for
   * diagnostics prefer `log`. A no-op for in-process calls; never throws.
   */
  readonly clientLog: (level: LoggingLevel, data: unknown, logger?: string) => Promise<void>;
  /**
   * Asks the client's model for a completion (`sampling/createMessage`), bounded by the
   * call's signal and deadline. Needs a 2025-era client that declared `sampling` on a
   * connection that can carry a request back to it: stdio, or HTTP with sessions. Otherwise
   * it throws a `conflict` ToolError (details `{ clientFeature, reason }`) that a handler may
   * catch to fall back; a client that answers with an error gives `unavailable`.
   */
  readonly sample: {
    (params: CreateMessageRequestParamsBase): Promise<CreateMessageResult>;
    (params: CreateMessageRequestParamsWithTools): Promise<CreateMessageResultWithTools>;
    (
      params: CreateMessageRequestParams,
    ): Promise<CreateMessageResult | CreateMessageResultWithTools>;
  };
  /**
   * Asks the user for input through the client (`elicitation/create`, form or URL mode),
   * bounded by the call's signal and deadline. A user who declines or cancels is an
   * ordinary result (`action`), not an error. Same requirements and errors as `sample`.
   */
  readonly elicit: (
    params: ElicitRequestFormParams | ElicitRequestURLParams,
  ) => Promise<ElicitResult>;
}
