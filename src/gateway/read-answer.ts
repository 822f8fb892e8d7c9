// Reads the answer of one tools/call POST (upstream-http-call.ts) as its body arrives, chunk
// by chunk: a JSON body, or an SSE stream parsed by `eventsource-parser` (a maintained
// parser of the WHATWG event-stream format: no second hand-written one here). Only the
// message answering the request is returned; what a server streams before it
// (notifications, its own requests) is skipped. Counting bytes, dropping a body past its
// bound, and draining what follows the answer are the caller's (it owns the connection);
// what a missing or unreadable answer means is upstream-outcome.ts's.
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceParser } from "eventsource-parser";

/** The message answering the request, or what came instead (for the error message). */
export type Answer = { readonly message: Record<string, unknown> } | { readonly missing: string };

/**
 * One answer being read. `push` each chunk as it arrives: an SSE stream answers as soon as
 * the event carrying the answer is complete (the stream may stay open after it); `end`
 * when the body ended says what it held. Pushed by undici's dispatch handler, with no
 * stream, listener or promise of its own per call.
 */
export class AnswerReader {
  readonly #id: number;
  readonly #parser: EventSourceParser | undefined;
  readonly #decoder: StringDecoder | undefined;
  #chunks: Buffer[] | undefined;
  #found: Record<string, unknown> | undefined;

  /** `id`: the JSON-RPC id of the request; the answer is the message with this id. */
  constructor(sse: boolean, id: number) {
    this.#id = id;
    if (sse) {
      this.#decoder = new StringDecoder("utf8");
      this.#parser = createParser({
        onEvent: ({ data }) => {
          // The rest of the chunk that carried the answer is not read for another one.
          if (this.#found === undefined) this.#found = matching(data, this.#id);
        },
      });
    }
  }

  /** Feeds one chunk; the answer once the SSE event carrying it is complete, else undefined. */
  push(chunk: Buffer): Answer | undefined {
    if (this.#parser === undefined) {
      (this.#chunks ??= []).push(chunk);
      return undefined;
    }
    this.#parser.feed((this.#decoder as StringDecoder).write(chunk));
    return this.#found === undefined ? undefined : { message: this.#found };
  }

  /** The body ended: the answer, or what came instead. */
  end(): Answer {
    if (this.#parser !== undefined) {
      // Lenient about a last event without its blank line (the spec drops it; a server
      // that ends its stream right after the answer still answered).
      if (this.#found === undefined)
        this.#parser.feed(`${(this.#decoder as StringDecoder).end()}\n\n`);
      return this.#found === undefined
        ? { missing: "an event stream that ended without the answer" }
        : { message: this.#found };
    }
    const chunks = this.#chunks ?? [];
    const text =
      chunks.length === 1
        ? (chunks[0] as Buffer).toString("utf8")
        : Buffer.concat(chunks).toString("utf8");
    const message = matching(text, this.#id);
    return message ? { message } : { missing: "a body that is not the JSON-RPC answer" };
  }
}

/** The JSON-RPC message with this id, if `text` is one. */
function matching(text: string, id: number): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && (parsed as { id?: unknown }).id === id
    ? (parsed as Record<string, unknown>)
    : undefined;
}
