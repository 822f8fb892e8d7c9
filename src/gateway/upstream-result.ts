// An upstream's `isError` result on its way to the model. The upstream wrote it for its own
// clients, and its texts may carry what it should not (a key in a validation message, a
// connection string in an exception): every string of it goes through the secret
// detectors of the audit log (`maskSecretsInText`: `redactString` without its 1 KiB cut). A typed
// error (a toolgate upstream's) keeps its shape: the message is masked where the error
// contract puts it (`_meta`, `structuredContent.error`, the JSON text), so the three stay
// the same error.
import type { CallToolResult } from "@modelcontextprotocol/server";
import { maskSecretsInText } from "../audit/redact.js";
import { ERROR_META_KEY } from "../errors/to-result.js";
import { isRecord } from "../util/is-record.js";

export interface ErrorResultShaping {
  /** Mask secrets in every text of the error (the upstream's `redactErrors`). */
  readonly redact: boolean;
  /** Appended to a typed error's message (what the caller can do). */
  readonly note?: string | undefined;
}

/** `result` with its error texts shaped; a result that is not an error is returned as it is. */
export function shapeErrorResult(
  result: CallToolResult,
  shaping: ErrorResultShaping,
): CallToolResult {
  if (result.isError !== true || (!shaping.redact && shaping.note === undefined)) return result;
  const mask = shaping.redact ? maskSecretsInText : (text: string) => text;
  const fix = (value: unknown): unknown => withNote(deepMap(value, mask), shaping.note);
  const out: CallToolResult = { ...result };
  if (Array.isArray(result.content)) {
    out.content = result.content.map((block) => {
      if (block.type !== "text" || typeof block.text !== "string") return block;
      return { ...block, text: shapeText(block.text, mask, shaping.note) };
    });
  }
  if (result.structuredContent !== undefined) {
    const structured = deepMap(result.structuredContent, mask);
    out.structuredContent = isRecord(structured)
      ? {
          ...structured,
          ...(structured["error"] === undefined ? {} : { error: fix(structured["error"]) }),
        }
      : structured;
  }
  const meta: unknown = result._meta;
  if (isRecord(meta) && meta[ERROR_META_KEY] !== undefined) {
    out._meta = { ...meta, [ERROR_META_KEY]: fix(meta[ERROR_META_KEY]) };
  }
  return out;
}

/** A text block: the contract's JSON (`{"error":{...}}`) stays JSON; other text is masked. */
function shapeText(text: string, mask: (text: string) => string, note: string | undefined) {
  if (text.trimStart().startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed)) {
        const masked = deepMap(parsed, mask) as Record<string, unknown>;
        if (masked["error"] !== undefined) masked["error"] = withNote(masked["error"], note);
        return JSON.stringify(masked);
      }
    } catch {
      // not JSON after all: masked as text
    }
  }
  return mask(text);
}

function withNote(error: unknown, note: string | undefined): unknown {
  if (note === undefined || !isRecord(error) || typeof error["message"] !== "string") return error;
  return { ...error, message: `${error["message"]} ${note}` };
}

/** A copy of a JSON value with every string (keys excepted) passed through `map`. */
function deepMap(value: unknown, map: (text: string) => string, depth = 0): unknown {
  if (typeof value === "string") return map(value);
  if (typeof value !== "object" || value === null || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => deepMap(item, map, depth + 1));
  // fromEntries defines own properties: a `__proto__` key stays a key.
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, deepMap(item, map, depth + 1)]),
  );
}
