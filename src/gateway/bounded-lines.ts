// Newline-delimited messages (MCP's stdio framing) read with a bound on one line. The SDK's
// own reader appends every chunk to one buffer until a newline arrives, so a 10 MB result
// sits whole in memory (and past its 10 MiB limit it closes the transport, killing every
// call on that upstream). Here a line past the bound is discarded as it streams: only a
// few bytes of state are kept, enough to learn its JSON-RPC `id` so that the one request
// it answered can be failed, and the next line is read as usual.

export interface OversizedLine {
  /** The `id` of the request the line answered, when it is a JSON-RPC response. */
  readonly id: number | string | undefined;
  /** Bytes discarded, up to the newline. */
  readonly bytes: number;
}

export interface LineSink {
  line(text: string): void;
  oversized(line: OversizedLine): void;
}

const NEWLINE = 0x0a;

export class BoundedLineReader {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Set while the current line is being discarded. */
  #dropping: IdScanner | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.#endLine();
      start = newline + 1;
    }
  }

  /** Forgets a partial line (the stream ended or restarted). */
  clear(): void {
    this.#chunks = [];
    this.#size = 0;
    this.#dropping = undefined;
  }

  #take(part: Buffer): void {
    if (part.length === 0) return;
    this.#size += part.length;
    if (this.#dropping) return this.#dropping.feed(part);
    if (this.#size <= this.maxLineBytes) {
      this.#chunks.push(part);
      return;
    }
    // Over the bound: scan what was kept for the id, then let it go.
    const scanner = new IdScanner();
    for (const kept of this.#chunks) scanner.feed(kept);
    scanner.feed(part);
    this.#chunks = [];
    this.#dropping = scanner;
  }

  #endLine(): void {
    const dropped = this.#dropping;
    const size = this.#size;
    const chunks = this.#chunks;
    this.clear();
    if (dropped) {
      // A message with a method is the server's own request or notification, not an answer.
      const id = dropped.hasMethod ? undefined : dropped.id;
      return this.sink.oversized({ id, bytes: size });
    }
    if (size === 0) return;
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
    this.sink.line(text.endsWith("\r") ? text.slice(0, -1) : text);
  }
}

// Bytes of JSON syntax the scanner looks at (all ASCII: UTF-8 continuation bytes are >= 0x80).
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x7b, 0x5b]); // { [
const CLOSE = new Set([0x7d, 0x5d]); // } ]
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** Longer keys or id values are not what we are looking for: stop collecting. */
const MAX_TOKEN = 128;

/**
 * Finds the value of the top-level `"id"` member of one JSON object fed in pieces, and
 * whether it has a top-level `"method"`, with constant memory: it tracks nesting and
 * strings, and collects only top-level keys and the id's value. The SDK v1 server writes
 * `{"result":...,"jsonrpc":"2.0","id":5}`, so the id of a large answer comes at its end.
 */
export class IdScanner {
  id: number | string | undefined;
  hasMethod = false;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** At depth 1, where a key may start (after `{` or `,`). */
  #keyPosition = false;
  /** The top-level key being read, or the last one read (undefined when too long). */
  #key: string | undefined = "";
  #readingKey = false;
  /** After `"id":` at depth 1: the value is being read. */
  #value: string | undefined;
  #valueIsString = false;
  #done = false;

  feed(bytes: Buffer): void {
    for (const b of bytes) this.#byte(b);
  }

  #byte(b: number): void {
    if (this.#inString) return this.#stringByte(b);
    // Inside a number (or literal) that is the id's value.
    if (this.#value !== undefined && this.#value !== "" && !this.#valueIsString) {
      if (!(b === COMMA || CLOSE.has(b) || SPACE.has(b))) return this.#collect(b);
      this.#finishNumber(); // and the byte that ended it is read below
    }
    if (b === QUOTE) {
      this.#inString = true;
      if (this.#depth === 1 && this.#keyPosition) {
        this.#readingKey = true;
        this.#key = "";
      } else if (this.#value === "" && this.#depth === 1) {
        this.#valueIsString = true;
      }
      return;
    }
    if (OPEN.has(b)) {
      this.#depth += 1;
      this.#keyPosition = this.#depth === 1 && b === 0x7b;
      return;
    }
    if (CLOSE.has(b)) {
      this.#depth -= 1;
      return;
    }
    if (this.#depth !== 1) return;
    if (b === COMMA) {
      this.#keyPosition = true;
    } else if (b === COLON) {
      this.#keyPosition = false;
      if (this.#key === "id" && !this.#done) this.#value = "";
    } else if (this.#value === "" && !SPACE.has(b)) {
      this.#collect(b); // a number (or true/false/null: not an id, ignored at the end)
    }
  }

  #stringByte(b: number): void {
    if (this.#escaped) {
      this.#escaped = false;
      return this.#append(b);
    }
    if (b === BACKSLASH) {
      this.#escaped = true;
      return this.#append(b);
    }
    if (b !== QUOTE) return this.#append(b);
    this.#inString = false;
    if (this.#readingKey) {
      this.#readingKey = false;
      this.#keyPosition = false;
      if (this.#key === "method") this.hasMethod = true;
    } else if (this.#valueIsString && this.#value !== undefined) {
      this.#settle(parseString(this.#value));
    }
  }

  #append(b: number): void {
    if (this.#readingKey && this.#key !== undefined) {
      this.#key = this.#key.length < MAX_TOKEN ? this.#key + String.fromCharCode(b) : undefined;
    } else if (this.#valueIsString && this.#value !== undefined) {
      this.#collect(b);
    }
  }

  #collect(b: number): void {
    if (this.#value === undefined) return;
    if (this.#value.length >= MAX_TOKEN) return this.#settle(undefined);
    this.#value += String.fromCharCode(b);
  }

  #finishNumber(): void {
    const text = this.#value ?? "";
    const number = /^-?\d+$/.test(text) ? Number(text) : undefined;
    this.#settle(Number.isSafeInteger(number) ? number : undefined);
  }

  #settle(id: number | string | undefined): void {
    this.id = id;
    this.#value = undefined;
    this.#valueIsString = false;
    this.#done = true;
  }
}

/** A JSON string's raw content (bytes as Latin-1 characters) decoded, or undefined. */
function parseString(raw: string): string | undefined {
  try {
    const decoded = Buffer.from(raw, "latin1").toString("utf8");
    const value: unknown = JSON.parse(`"${decoded}"`);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
