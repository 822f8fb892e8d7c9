// Reads the answer of one tools/call POST (upstream-http-call.ts): a JSON body, or an SSE
// stream parsed by `eventsource-parser` (a maintained parser of the WHATWG event-stream
// format: no second hand-written one here). The bytes are counted as they arrive, and once
// they pass the bound the body is dropped (its socket closed) without buffering the rest.
// Only the message answering the request is returned; what a server streams before it
// (notifications, its own requests) is skipped, and what it keeps streaming after it is
// drained and dropped. What a missing or unreadable answer means is upstream-outcome.ts's.
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
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

/** The message answering the request, or what came instead (for the error message). */
export type Answer = { readonly message: Record<string, unknown> } | { readonly missing: string };

/** How long a finished answer's stream may stay open before the gateway drops it. */
const LINGER_MS = 1_000;

/**
 * Resolves with the answer (or what came instead), rejects with UpstreamResultTooLarge
 * past `maxBytes`, or with the stream's error. Read with listeners, not `for await`:
 * leaving an async iterator early destroys the stream with a fresh AbortError (and its
 * stack trace) on every call.
 */
export function readAnswer(body: Body, sse: boolean, limits: AnswerLimits): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let settled = false;
    const finish = (answer: Answer) => {
      settled = true;
      body.off("data", onData);
      body.off("end", onEnd);
      resolve(answer);
    };
    // JSON: the whole body. SSE: each event as it completes, until the answer.
    const chunks: Buffer[] = [];
    const decoder = new StringDecoder("utf8");
    const parser = sse
      ? createParser({
          onEvent: ({ data }) => {
            if (settled) return; // the rest of the chunk that carried the answer
            const message = matching(data, limits.id);
            if (!message) return;
            finish({ message });
            linger(body);
          },
        })
      : undefined;

    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) {
        settled = true;
        body.off("data", onData);
        body.off("end", onEnd);
        drop(body);
        reject(new UpstreamResultTooLarge(limits.maxBytes, limits.upstream));
        return;
      }
      if (parser) parser.feed(decoder.write(chunk));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (parser) {
        // Lenient about a last event without its blank line (the spec drops it; a server
        // that ends its stream right after the answer still answered).
        parser.feed(`${decoder.end()}\n\n`);
        if (!settled) finish({ missing: "an event stream that ended without the answer" });
        return;
      }
      const message = matching(Buffer.concat(chunks).toString("utf8"), limits.id);
      finish(message ? { message } : { missing: "a body that is not the JSON-RPC answer" });
    };
    body.on("error", (error) => {
      if (settled) return; // after the answer, or dropped on purpose: nothing to report
      settled = true;
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

/** Drains what follows the answer; drops the stream if the server keeps it open. */
function linger(body: Body): void {
  if (body.readableEnded || body.destroyed) return;
  const timer = setTimeout(() => drop(body), LINGER_MS);
  timer.unref();
  body.once("close", () => clearTimeout(timer));
  body.resume();
}
