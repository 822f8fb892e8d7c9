import { isCallToolResult, type CallToolResult } from "@modelcontextprotocol/server";
import type { RawToolResult } from "./types.js";

const RAW = Symbol.for("toolgate.rawToolResult");

/** Returns a hand-built MCP result from a handler (e.g. image or resource content). */
export function toolResult(result: CallToolResult): RawToolResult {
  if (typeof result !== "object" || result === null || !Array.isArray(result.content)) {
    throw new TypeError("toolResult expects a CallToolResult with a content array.");
  }
  return { [RAW]: true, result } as unknown as RawToolResult;
}

function isRaw(value: unknown): value is { result: CallToolResult } {
  return typeof value === "object" && value !== null && RAW in value;
}

// The members of a CallToolResult (MCP 2025-11-25, "Tool Result"); an object with any
// other member is the handler's data, not a result.
const RESULT_KEYS: ReadonlySet<string> = new Set([
  "content",
  "structuredContent",
  "isError",
  "_meta",
]);

/**
 * A result built the way the SDK's examples build one: only CallToolResult members, and a
 * `content` array of valid MCP content blocks (text, image, audio, resource_link,
 * resource), as the SDK's own schema checks them (`isCallToolResult`).
 */
export function isCallToolResultShape(value: unknown): value is CallToolResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  if (!Array.isArray((value as { content?: unknown }).content)) return false;
  for (const key of Object.keys(value)) if (!RESULT_KEYS.has(key)) return false;
  return isCallToolResult(value);
}

/**
 * A handler's return value as an MCP result: a CallToolResult (see `isCallToolResultShape`)
 * passes as it is, `isError` included; a string is text; any other object is
 * `structuredContent` plus the same JSON as text (for clients that show only text); other
 * JSON values are text JSON.
 */
export function toCallToolResult(value: unknown): CallToolResult {
  if (isRaw(value)) return value.result;
  if (isCallToolResultShape(value)) return value;
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (value === undefined) return { content: [] };
  const text = JSON.stringify(value) as string | undefined;
  // A symbol or a function has no JSON: an empty text block would be an invalid result.
  if (text === undefined)
    throw new TypeError(`a tool handler returned a ${typeof value}, not JSON`);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return { content: [{ type: "text", text }], structuredContent: value };
  }
  return { content: [{ type: "text", text }] };
}
