// Reads the answer of one direct tools/call POST (a JSON body or an SSE stream) with a
// bound on its size: the bytes are counted as they arrive, and once they pass the bound
// the body is dropped (its socket closed) without buffering the rest. Only the message
// answering the request is returned; what a server streams before it (notifications) is
// skipped, and what it keeps streaming after it is drained and dropped.
import { StringDecoder } from "node:string_decoder";
import type { Dispatcher } from "undici";
import { UpstreamResultTooLarge } from "./upstream-errors.js";

type Body = Dispatcher.ResponseData["body"];

export interface AnswerLimits {
  /** The JSON-RPC id of the request: the answer is the message with this id. */
  readonly id: number;
  readonly maxBytes: number;
  /** For the error message. */
  readonly upstream: string;
}

/** How long a finished answer's stream may stay open before the gateway drops it. */
const LINGER_MS = 1_000;
// An SSE event ends at a blank line (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
const EVENT_END = /\r?\n\r?\n/;
/** A separator is at most 4 characters: this many of a block's end can start one. */
const CARRY = 3;

/**
 * Resolves with the JSON-RPC message answering `limits.id` (undefined if the body ends
 * without it), rejects with UpstreamResultTooLarge past `maxBytes`, or with the stream's
 * error. Read with listeners, not `for await`: leaving an async iterator early destroys
 * the stream with a fresh AbortError (and its stack trace) on every call.
 */
export function readAnswer(
  body: Body,
  sse: boolean,
  limits: AnswerLimits,
): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let settled = false;
    const settle = () => {
      settled = true;
      body.off("data", onData);
      body.off("end", onEnd);
    };
    // JSON: the whole body. SSE: the text of the current event block.
    const chunks: Buffer[] = [];
    let parts: string[] = [];
    let carry = "";
    const decoder = new StringDecoder("utf8");

    const onEvent = (block: string): boolean => {
      const message = matching(eventData(block), limits.id);
      if (!message) return false;
      settle();
      resolve(message);
      linger(body);
      return true;
    };
    const onText = (input: string) => {
      let text = input;
      while (text !== "") {
        const probe = carry + text;
        const end = EVENT_END.exec(probe);
        if (!end) {
          parts.push(text);
          carry = probe.slice(-CARRY);
          return;
        }
        // Where the block ends in `text`; negative when the separator began in the carry.
        const cut = end.index - carry.length;
        const block =
          cut >= 0 ? [...parts, text.slice(0, cut)].join("") : parts.join("").slice(0, cut);
        parts = [];
        carry = "";
        text = text.slice(cut + end[0].length);
        if (onEvent(block)) return;
      }
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) {
        settle();
        drop(body);
        reject(new UpstreamResultTooLarge(limits.maxBytes, limits.upstream));
        return;
      }
      if (sse) onText(decoder.write(chunk));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      settle();
      if (!sse) return resolve(matching(Buffer.concat(chunks).toString("utf8"), limits.id));
      const rest = decoder.end();
      if (rest !== "") parts.push(rest);
      const last = parts.join("");
      resolve(last.trim() === "" ? undefined : matching(eventData(last), limits.id));
    };
    body.on("error", (error) => {
      if (settled) return; // after the answer, or dropped on purpose: nothing to report
      settle();
      reject(error);
    });
    body.on("data", onData);
    body.on("end", onEnd);
  });
}

/** Stops reading a body and closes its connection, without an unhandled `error` event. */
export function drop(body: Body): void {
  body.on("error", () => undefined);
  body.destroy();
}

/**
 * Reads and discards a refused request's body (a little of it, for a second at most, so
 * the connection can go back to the pool); past either bound undici closes it. Never
 * rejects, and leaves no `error` event unhandled.
 */
export function discard(body: Body): void {
  body.dump({ limit: 64 * 1024, signal: AbortSignal.timeout(LINGER_MS) }).catch(() => undefined);
}

/** The JSON-RPC message with this id, if `text` is one. */
export function matching(text: string, id: number): Record<string, unknown> | undefined {
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

/** The data of one SSE event block (its `data:` lines joined). */
function eventData(block: string): string {
  return block
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""))
    .join("\n");
}

/** Drains what follows the answer; drops the stream if the server keeps it open. */
function linger(body: Body): void {
  if (body.readableEnded || body.destroyed) return;
  const timer = setTimeout(() => drop(body), LINGER_MS);
  timer.unref();
  body.once("close", () => clearTimeout(timer));
  body.resume();
}
