// Helpers for the idempotency end-to-end suites: a store that wraps the real memory store
// (counts calls, reports when they settle, injects failures), raw HTTP calls that can
// carry an `Idempotency-Key` header, gates that hold a handler until the test lets it go,
// and two principals for a custom verifier.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { type Principal } from "../../src/index.js";
import { AuthError, type TokenVerifier } from "../../src/auth/index.js";
import {
  memoryStore,
  type ClaimInput,
  type ClaimOutcome,
  type CompleteInput,
  type IdempotencyStore,
} from "../../src/stores/index.js";
import { IDEMPOTENCY_META_KEY, REPLAY_META_KEY } from "../../src/client/index.js";

export type StoreOp = "claim" | "get" | "complete" | "release" | "sweep";

/**
 * A test double of toolgate's own `IdempotencyStore` interface: every call goes to a real
 * `memoryStore()`, is counted, and emits an event on `events` once it settles (`claim`,
 * `complete` and `release` with the input and the outcome). Failures are switched on per
 * test with `failClaimWith` and `completeFails`.
 */
export class SpyStore implements IdempotencyStore {
  readonly name = "spy(memory)";
  readonly events = new EventEmitter();
  readonly calls: Record<StoreOp, number> = {
    claim: 0,
    get: 0,
    complete: 0,
    release: 0,
    sweep: 0,
  };
  /** Inputs of every `complete` call, in order. */
  readonly completions: CompleteInput[] = [];
  /** When set, `claim` rejects with it (the store is down) and the inner store is not touched. */
  failClaimWith: Error | undefined;
  /** "reject": `complete` rejects; "false": it reports it stored nothing. The inner store is not touched. */
  completeFails: "reject" | "false" | undefined;

  constructor(readonly inner: IdempotencyStore = memoryStore()) {}

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    this.calls.claim += 1;
    if (this.failClaimWith) throw this.failClaimWith;
    const outcome = await this.inner.claim(input);
    this.events.emit("claim", input, outcome);
    return outcome;
  }

  get(scope: string, now: number) {
    this.calls.get += 1;
    return this.inner.get(scope, now);
  }

  async complete(input: CompleteInput): Promise<boolean> {
    this.calls.complete += 1;
    this.completions.push(input);
    let stored: boolean;
    if (this.completeFails === "reject") {
      this.events.emit("complete", input, false);
      throw new Error("simulated: the store lost its connection while saving");
    }
    if (this.completeFails === "false") stored = false;
    else stored = await this.inner.complete(input);
    this.events.emit("complete", input, stored);
    return stored;
  }

  async release(scope: string, ownerToken: string): Promise<boolean> {
    this.calls.release += 1;
    const released = await this.inner.release(scope, ownerToken);
    this.events.emit("release", scope, released);
    return released;
  }

  sweep(now: number) {
    this.calls.sweep += 1;
    return this.inner.sweep(now);
  }

  close() {
    return this.inner.close();
  }
}

/** A promise the test resolves when it wants a handler to finish. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Two principals of one issuer, for a custom verifier (`auth: { verifier }`). */
export const PRINCIPALS: Readonly<Record<"alice" | "bob", Principal>> = {
  alice: {
    issuer: "https://issuer.test",
    subject: "alice",
    scopes: [],
    claims: { sub: "alice" },
    anonymous: false,
  },
  bob: {
    issuer: "https://issuer.test",
    subject: "bob",
    scopes: [],
    claims: { sub: "bob" },
    anonymous: false,
  },
};

/** Accepts the bearer tokens "alice" and "bob"; refuses anything else. */
export const twoPrincipalVerifier: TokenVerifier = {
  verify(token) {
    if (token === "alice" || token === "bob") return Promise.resolve(PRINCIPALS[token]);
    return Promise.reject(new AuthError("invalid_token", "Unknown test token."));
  },
};

export const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
});

export interface RawCallParams {
  name: string;
  arguments?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/**
 * One `tools/call` over plain fetch (2025-11-25, stateless), with any extra headers (the
 * `Idempotency-Key` header, `authorization`). Returns the JSON-RPC `result`.
 */
export async function rawCall(
  url: URL,
  params: RawCallParams,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<CallToolResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }),
    ...(signal ? { signal } : {}),
  });
  const body = await res.text();
  assert.equal(res.status, 200, `HTTP ${res.status}: ${body}`);
  const messages = (res.headers.get("content-type") ?? "").startsWith("text/event-stream")
    ? body
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => JSON.parse(line.slice("data:".length)) as unknown)
    : [JSON.parse(body) as unknown];
  assert.equal(messages.length, 1, `expected one message: ${body}`);
  const message = messages[0] as { result?: CallToolResult; error?: unknown };
  assert.ok(message.result, `no result in ${body}`);
  return message.result;
}

/** `_meta` carrying an idempotency key (the highest-precedence source). */
export const metaKey = (key: unknown): Record<string, unknown> => ({ [IDEMPOTENCY_META_KEY]: key });

/** Whether a result carries the replay flag. */
export function isReplay(result: CallToolResult): boolean {
  return result._meta?.[REPLAY_META_KEY] === true;
}

/** A successful first execution: no error, no replay flag. Returns its structuredContent. */
export function expectFresh(result: CallToolResult): Record<string, unknown> {
  assert.notEqual(result.isError, true, `expected success, got ${JSON.stringify(result)}`);
  assert.equal(
    result._meta?.[REPLAY_META_KEY],
    undefined,
    `a first execution must not be flagged as a replay: ${JSON.stringify(result)}`,
  );
  assert.ok(result.structuredContent, "structuredContent is missing");
  return result.structuredContent as Record<string, unknown>;
}

/**
 * `replayed` is a flagged replay of `original`: the same content and structuredContent
 * (and the same text, byte for byte), and the same isError.
 */
export function expectReplayOf(replayed: CallToolResult, original: CallToolResult): void {
  assert.equal(
    replayed._meta?.[REPLAY_META_KEY],
    true,
    `expected a flagged replay, got ${JSON.stringify(replayed)}`,
  );
  assert.deepEqual(replayed.content, original.content);
  assert.deepEqual(replayed.structuredContent, original.structuredContent);
  assert.equal(replayed.isError, original.isError);
  const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : ""));
  assert.deepEqual(text(replayed), text(original), "replayed text must be byte-identical");
}
