// Cursor paging of a list request (tools/list; the same codec serves any other list that
// comes to need it). The MCP spec leaves the page size to the server and makes the cursor
// an opaque string: here it is the position in the server's full list (before any filter
// for the caller), so it stays valid whatever the caller's scopes hide, and a cursor from
// one instance is good at another instance serving the same list (stateless HTTP behind a
// load balancer). It is a position, not a snapshot: if the list changes between two pages
// (a gateway whose upstream changed), a walk may miss or repeat an entry.
import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";

/**
 * The most entries one page holds unless the server says otherwise (toolsPageSize). 1000:
 * every server of up to 1000 tools (all but the giant ones) answers in one response with
 * no nextCursor, exactly as before paging existed, so clients that never walk pages lose
 * nothing there; a server of 10,000 tools answers 10 pages of ~400 KB instead of one 4 MB
 * answer costing 70-200 ms of CPU per list.
 */
export const DEFAULT_PAGE_SIZE = 1000;

/** Longer than any cursor this codec makes; a longer one is refused before decoding. */
const MAX_CURSOR_LENGTH = 64;
const POSITION = /^(0|[1-9][0-9]{0,14})$/;

export interface Page<T> {
  readonly items: T[];
  /** Present when entries remain after this page. */
  readonly nextCursor?: string;
}

/**
 * One page of `entries` for `cursor` (undefined: the first page): from the cursor's
 * position, the entries `include` accepts until `pageSize` are collected. `nextCursor` is
 * the position after the last entry examined, given only if entries remain after it (so
 * the last page of a filtered walk may be short, or even empty). A cursor this codec did
 * not make for `list`, or one pointing past the end, is refused with Invalid params
 * (-32602), as the spec advises.
 */
export function listPage<T>(
  list: string,
  entries: readonly T[],
  cursor: string | undefined,
  pageSize: number,
  include?: (entry: T) => boolean,
): Page<T> {
  const start = cursor === undefined ? 0 : decodeCursor(list, cursor, entries.length);
  if (!include) {
    const end = Math.min(start + pageSize, entries.length);
    const items = entries.slice(start, end);
    return end < entries.length ? { items, nextCursor: encodeCursor(list, end) } : { items };
  }
  const items: T[] = [];
  let next = start;
  while (next < entries.length && items.length < pageSize) {
    const entry = entries[next++] as T;
    if (include(entry)) items.push(entry);
  }
  return next < entries.length ? { items, nextCursor: encodeCursor(list, next) } : { items };
}

/** `<list>@<position>`, base64url: opaque to clients, which must not build cursors. */
export function encodeCursor(list: string, position: number): string {
  return Buffer.from(`${list}@${position}`, "utf8").toString("base64url");
}

/**
 * The position a cursor made by encodeCursor for `list` names, if it is before the end of
 * a list of `length` entries (a cursor is only handed out while entries remain after it).
 */
export function decodeCursor(list: string, cursor: string, length: number): number {
  const text =
    cursor.length <= MAX_CURSOR_LENGTH ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  const prefix = `${list}@`;
  const digits = text.startsWith(prefix) ? text.slice(prefix.length) : "";
  // Re-encoding must give the cursor back: no other spelling of a position is accepted.
  if (!POSITION.test(digits) || encodeCursor(list, Number(digits)) !== cursor) {
    throw invalidCursor(
      `it is not a ${list} cursor this server handed out (pass nextCursor exactly as received)`,
    );
  }
  const position = Number(digits);
  if (position >= length) {
    throw invalidCursor(
      "it points past the end of the list (the list has changed since it was handed out)",
    );
  }
  return position;
}

function invalidCursor(why: string): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `Invalid cursor: ${why}; start again without a cursor.`,
  );
}

/** Checks a page size option: a positive integer. */
export function checkPageSize(value: unknown, option: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `createToolServer: ${option} must be a positive integer (the most entries one page holds; default ${DEFAULT_PAGE_SIZE}), got ${describe(value)}.`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}
