// The SDK client the kit wraps: the v2 `Client` (`@modelcontextprotocol/client`) or the
// v1 `Client` (`@modelcontextprotocol/sdk` 1.x, still what many hosts run). Their
// `callTool` differ: v1 takes a result schema before the request options, so handing it
// v2-style options would pass them as a schema. Both are typed by shape here, so the kit
// loads neither SDK and needs no v1 types.
import type { CallToolRequest, CallToolResult, Client, Tool } from "@modelcontextprotocol/client";

/** The part of the SDK v2 `Client` the kit uses (a v2 `Client` is one). */
export type SdkV2ClientTarget = Pick<Client, "callTool" | "listTools" | "transport">;

/** Request options both SDKs take (`timeout` in ms, `signal`). */
export interface TargetRequestOptions {
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * The part of the SDK v1 `Client` (`@modelcontextprotocol/sdk`) the kit uses. Its
 * `callTool(params, resultSchema?, options?)` validates `structuredContent` against the
 * tool's `outputSchema` even on errors (typescript-sdk #1943); toolgate's errors of such
 * tools carry none, so the typed error arrives in `_meta` and the text.
 */
export interface SdkV1ClientTarget {
  callTool(
    params: CallToolRequest["params"],
    resultSchema?: unknown,
    options?: TargetRequestOptions,
  ): Promise<unknown>;
  listTools(
    params?: { cursor?: string },
    options?: TargetRequestOptions,
  ): Promise<{ tools: unknown[]; nextCursor?: string | undefined }>;
  getServerVersion(): unknown;
  readonly transport?: unknown;
}

/** The SDK `Client` the kit wraps: v2 (or an object with its `callTool`/`listTools`), or v1. */
export type ToolClientTarget = SdkV2ClientTarget | SdkV1ClientTarget;

/** What the kit needs from the target, the same for both SDKs. */
export interface TargetCalls {
  callTool(
    params: CallToolRequest["params"],
    options: TargetRequestOptions,
  ): Promise<CallToolResult>;
  /** Every page of the tool list, read fresh (not from the SDK's cache). */
  listTools(options: TargetRequestOptions): Promise<Tool[]>;
  connected(): boolean;
}

// v1 returns one page per call; v2 walks the pages itself (capped at 64 by default).
const MAX_PAGES = 64;

export function targetCalls(target: ToolClientTarget): TargetCalls {
  const connected = () => target.transport !== undefined;
  if (isSdkV1Client(target)) {
    return {
      connected,
      callTool: async (params, options) =>
        (await target.callTool(params, undefined, options)) as CallToolResult,
      async listTools(options) {
        const tools: unknown[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const listed = await target.listTools(cursor === undefined ? {} : { cursor }, options);
          tools.push(...listed.tools);
          cursor = listed.nextCursor;
          if (!cursor) break;
        }
        return tools as Tool[];
      },
    };
  }
  return {
    connected,
    callTool: (params, options) => target.callTool(params, options),
    listTools: async (options) =>
      (await target.listTools(undefined, { cacheMode: "refresh", ...options })).tools,
  };
}

/**
 * The v1 `Client` declares `callTool(params, resultSchema = CallToolResultSchema,
 * options)` (one parameter before the defaulted schema) and lacks v2's `getProtocolEra`;
 * an object of one's own (no `getServerVersion`) is called the v2 way.
 */
function isSdkV1Client(target: ToolClientTarget): target is SdkV1ClientTarget {
  const probe = target as { getServerVersion?: unknown; getProtocolEra?: unknown };
  return (
    typeof probe.getServerVersion === "function" &&
    typeof probe.getProtocolEra !== "function" &&
    target.callTool.length === 1
  );
}
