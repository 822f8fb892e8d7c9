// The typed outcome of a tool call made through the client kit, and how it is read from
// a `tools/call` result: toolgate's error contract when the server speaks it, a generic
// shape for any other server's `isError` result.
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { ErrorType } from "../errors/registry.js";
import { ERROR_META_KEY } from "../errors/to-result.js";
import { REPLAY_META_KEY } from "../idempotency/key.js";
import { isRecord } from "../util/is-record.js";
export { isRecord };

/**
 * What went wrong. The contract's types (`invalid_input`, `timeout`, ...) come from the
 * server or, for transport failures, from the kit (`timeout`: no answer in time,
 * `unavailable`: the connection failed or the endpoint answered 5xx). Besides them:
 * `tool_error` (an `isError` result without the contract: another server's tool failed),
 * `protocol_error` (a JSON-RPC error, e.g. an unknown tool on a server that is not
 * toolgate) and `cancelled` (the caller's `AbortSignal`). A newer server's type not
 * listed here passes through as it is.
 */
export type ToolCallErrorType =
  ErrorType | "tool_error" | "protocol_error" | "cancelled" | (string & Record<never, never>);

/** Where an error was decided. */
export type ToolCallErrorSource =
  /** the server's typed error (toolgate's error contract) */
  | "contract"
  /** another server's `isError` result, mapped to `tool_error` */
  | "tool"
  /** a JSON-RPC error response */
  | "protocol"
  /** the connection: refused, reset, cut mid-response, no answer in time, HTTP 5xx */
  | "transport"
  /** the kit itself: cancelled, deadline passed, a bad `operationId` */
  | "client";

export interface ToolCallError {
  type: ToolCallErrorType;
  /** For the model: what failed, and usually what to do about it. */
  message: string;
  /**
   * True when calling again with the same operation (same arguments, same `operationId`)
   * is safe and may succeed. The kit's verdict: a server's `retryable: true` on a write
   * that carries no idempotency key the server honours is reported as false, because a
   * second call could apply it twice.
   */
  retryable: boolean;
  /** How long to wait before calling again, when the server said. */
  retryAfterMs?: number;
  /** The contract's details: `issues` for `invalid_input`, `requiredScopes` for `forbidden`, ... */
  details?: Record<string, unknown>;
  /** For `internal`: the id that links to the server's log. */
  incidentId?: string;
  source: ToolCallErrorSource;
  /**
   * Whether the call took effect, when the kit can tell it did not (`"no"`: the request
   * never left, or the server refused it before running it) or cannot tell (`"unknown"`:
   * the connection failed or timed out after the request was sent). Absent for the
   * server's own answers.
   */
  applied?: "no" | "unknown";
}

/** One `tools/call` request the kit sent for an operation. */
export interface ToolCallAttempt {
  /** When it was sent (epoch ms). */
  startedAt: number;
  durationMs: number;
  /** The idempotency key it carried (the same on every attempt of one operation). */
  idempotencyKey?: string;
  /** Its failure; absent for the attempt that succeeded. */
  error?: ToolCallError;
}

export interface ToolCallSuccess<T = unknown> {
  ok: true;
  /** `structuredContent` when the tool returned it, else the text of its content blocks. */
  value: T;
  /** The server replayed a stored result: the operation had already run (toolgate idempotency). */
  replayed: boolean;
  /** The raw `tools/call` result (for images, resources and other content). */
  result: CallToolResult;
  /** The operation's idempotency key, when one was sent. */
  idempotencyKey?: string;
  attempts: ToolCallAttempt[];
}

export interface ToolCallFailure {
  ok: false;
  error: ToolCallError;
  /**
   * The server answered with the stored outcome of this operation
   * (`_meta["toolgate/idempotent-replay"]`): it had already run, and failed, under this
   * idempotency key. The kit never retries a replayed error (the same key gets the same
   * answer again), so `error.retryable` is false; a new attempt needs a new operation.
   */
  replayed: boolean;
  /** The last `tools/call` result, when the server answered with one. */
  result?: CallToolResult;
  /**
   * The operation's idempotency key, when one was sent: pass it as `operationId` to
   * resume the same operation later (a retry that cannot apply it twice).
   */
  idempotencyKey?: string;
  attempts: ToolCallAttempt[];
}

export type ToolCallResult<T = unknown> = ToolCallSuccess<T> | ToolCallFailure;

const MAX_MESSAGE_CHARS = 2_000;

/** The value of a successful result: `structuredContent`, else the text content. */
export function valueOf(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const texts = textBlocks(result);
  if (texts.length > 0) return texts.join("\n");
  return result.content;
}

/** Whether the result is a replay of a stored result (`_meta["toolgate/idempotent-replay"]`). */
export function isReplay(result: CallToolResult): boolean {
  return isRecord(result._meta) && result._meta[REPLAY_META_KEY] === true;
}

/**
 * The error of an `isError` result: the contract's typed error (see `contractError`),
 * else a generic `tool_error` carrying the tool's text.
 */
export function errorOfResult(result: CallToolResult): ToolCallError {
  const typed = contractError(result);
  if (typed) return typed;
  const text = textBlocks(result).join("\n").trim();
  return {
    type: "tool_error",
    message: text ? clip(text) : "The tool reported an error without a message.",
    retryable: false,
    source: "tool",
  };
}

/**
 * The contract's `error` object of a result, or undefined when the result does not carry
 * one. Read where the error contract puts it, in this order: `_meta["toolgate/error"]`
 * (the one place no client validates: an error of a tool with an `outputSchema` has no
 * `structuredContent`), then `structuredContent.error` (older toolgate servers), then the
 * one-line JSON text. A type the kit does not know passes through as it is.
 */
export function contractError(result: CallToolResult): ToolCallError | undefined {
  const fromMeta = isRecord(result._meta) ? wireError(result._meta[ERROR_META_KEY]) : undefined;
  if (fromMeta) return fromMeta;
  const fromStructured = isRecord(result.structuredContent)
    ? wireError(result.structuredContent["error"])
    : undefined;
  if (fromStructured) return fromStructured;
  const [first] = textBlocks(result);
  if (first === undefined || !first.trimStart().startsWith("{")) return undefined;
  try {
    const parsed: unknown = JSON.parse(first);
    return isRecord(parsed) ? wireError(parsed["error"]) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a wire error, insisting on the contract's shape: type, message, retryable. */
function wireError(value: unknown): ToolCallError | undefined {
  if (!isRecord(value)) return undefined;
  const { type, message, retryable, retryAfterMs, details, incidentId } = value;
  if (typeof type !== "string" || type.length === 0) return undefined;
  if (typeof message !== "string" || typeof retryable !== "boolean") return undefined;
  const error: ToolCallError = { type, message: clip(message), retryable, source: "contract" };
  if (typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    error.retryAfterMs = retryAfterMs;
  }
  if (isRecord(details)) error.details = details;
  if (typeof incidentId === "string") error.incidentId = incidentId;
  return error;
}

function textBlocks(result: CallToolResult): string[] {
  const content: unknown = result.content;
  if (!Array.isArray(content)) return [];
  const texts: string[] = [];
  for (const block of content as unknown[]) {
    if (isRecord(block) && block["type"] === "text" && typeof block["text"] === "string") {
      texts.push(block["text"]);
    }
  }
  return texts;
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}...` : text;
}
