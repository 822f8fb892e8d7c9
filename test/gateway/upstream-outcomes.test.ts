// Every outcome of a forwarded tools/call to an HTTP upstream, through the one outbound
// client (upstream-http-call.ts) and the one mapping onto the error registry
// (upstream-outcome.ts), against a real node:http server on 127.0.0.1 that answers each
// case as a misbehaving upstream would: HTTP 401/403/404/429/5xx, a refused and a reset
// connection, the deadline, an abort, JSON-RPC errors, a body that is not JSON-RPC, a
// result without content, oversized bodies (declared and streamed), SSE streams (split
// mid-character, CRLF, no final blank line, notifications first, left open, ended without
// the answer), and an `isError` result with a typed error in `_meta`.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import * as z from "zod";
import { maskSecretsInText } from "../../src/audit/redact.js";
import { defineTool, type ErrorType, type ToolError } from "../../src/index.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
} from "../../src/gateway/upstream-errors.js";
import { isUpstreamTimeout } from "../../src/gateway/upstream-failure.js";
import { callHttpUpstream } from "../../src/gateway/upstream-http-call.js";
import {
  forwardFailure,
  forwardResult,
  type ForwardSituation,
} from "../../src/gateway/upstream-outcome.js";
import { cancellationOf } from "../../src/util/lazy-abort.js";
import { LEAKED } from "./fixtures/hostile-http.js";

/** What the server does with the next tools/call: `id` is the request's JSON-RPC id. */
type Answer = (res: ServerResponse, id: number) => void | Promise<void>;
let answer: Answer = () => undefined;
let url: URL;
let server: ReturnType<typeof createServer>;

before(async () => {
  server = createServer((req, res) => {
    void read(req).then((body) => {
      const { id } = JSON.parse(body) as { id: number };
      return answer(res, id);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const ok = (text: string) => ({ content: [{ type: "text", text }] });
const rpc = (id: number, body: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", id, ...body });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function call(
  options: { signal?: AbortSignal; timeoutMs?: number; maxResultBytes?: number; at?: URL } = {},
) {
  return callHttpUpstream({
    url: options.at ?? url,
    protocolVersion: "2025-11-25",
    sessionId: "s-1",
    headers: {},
    params: { name: "x", arguments: {} },
    cancellation: cancellationOf(options.signal ?? new AbortController().signal),
    timeoutMs: options.timeoutMs ?? 5_000,
    upstream: "web",
    maxResultBytes: options.maxResultBytes ?? 64 * 1024,
  });
}

/** The error `call()` rejects with. */
async function failure(options?: Parameters<typeof call>[0]): Promise<unknown> {
  try {
    await call(options);
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

const tools = {
  read: defineTool({
    name: "lookup",
    version: "1.0.0",
    description: "Reads.",
    scopes: [],
    input: z.object({}),
    sideEffect: "read",
    handler: () => "",
  }),
  write: defineTool({
    name: "pay",
    version: "1.0.0",
    description: "Writes.",
    scopes: [],
    input: z.object({}),
    sideEffect: "write",
    handler: () => "",
  }),
};

function situation(kind: "read" | "write", honoursKey = false): ForwardSituation {
  return {
    upstream: "web",
    tool: tools[kind],
    timeoutMs: 5_000,
    honoursKey,
    leaseEnded: false,
    retryAfterMs: 0,
    mask: maskSecretsInText,
  };
}

function mapped(error: unknown, kind: "read" | "write" = "read", honoursKey = false): ToolError {
  return forwardFailure(error, situation(kind, honoursKey));
}

function expectType(error: ToolError, type: ErrorType): ToolError {
  assert.equal(error.type, type, `${error.type}: ${error.message}`);
  return error;
}

describe("HTTP statuses of a tools/call", () => {
  test("401 and 403: the gateway's credential, not sent, `unavailable` for at least 1 s", async () => {
    for (const status of [401, 403]) {
      answer = (res) => void res.writeHead(status).end("no");
      const error = await failure();
      assert.ok(error instanceof UpstreamCredentialRefused, String(error));
      assert.equal(error.status, status);
      const tool = expectType(mapped(error, "write"), "unavailable");
      assert.match(tool.message, /did not accept the gateway's credential/);
      assert.ok((tool.retryAfterMs ?? 0) >= 1_000);
    }
  });

  test("404 (an expired session): not sent, `unavailable`, safe for a write", async () => {
    answer = (res) => void res.writeHead(404, { "content-type": "application/json" }).end("{}");
    const error = await failure();
    assert.ok(error instanceof UpstreamNotSent && error.status === 404, String(error));
    assert.match(expectType(mapped(error, "write"), "unavailable").message, /Nothing was sent/);
  });

  test("429 with Retry-After: `rate_limited` with the upstream's wait", async () => {
    answer = (res) => void res.writeHead(429, { "retry-after": "2" }).end();
    const tool = expectType(mapped(await failure()), "rate_limited");
    assert.equal(tool.retryAfterMs, 2_000);
  });

  test("503 is not sent; 500 and 502 may have run: a write without keys is outcome unknown", async () => {
    answer = (res) => void res.writeHead(503, { "retry-after": "3" }).end();
    const unavailable = expectType(mapped(await failure(), "write"), "unavailable");
    assert.equal(unavailable.retryAfterMs, 3_000);
    for (const status of [500, 502]) {
      answer = (res) => void res.writeHead(status).end("boom");
      const error = await failure();
      assert.ok(error instanceof UpstreamLost, `${status}: ${String(error)}`);
      expectType(mapped(error, "read"), "unavailable");
      expectType(mapped(error, "write", true), "unavailable");
      const unknown = expectType(mapped(error, "write"), "conflict");
      assert.equal(unknown.details?.["reason"], "outcome_unknown");
    }
  });
});

describe("the connection and the clock", () => {
  test("a refused connection was not sent: `unavailable` even for a write", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure({ at: new URL(`http://127.0.0.1:${port}/mcp`) });
    assert.ok(error instanceof UpstreamNotSent && error.status === undefined, String(error));
    expectType(mapped(error, "write"), "unavailable");
  });

  test("a connection reset after the request: lost, outcome unknown for a write", async () => {
    answer = (res) => void res.socket?.destroy();
    const error = await failure();
    assert.ok(error instanceof UpstreamLost, String(error));
    expectType(mapped(error, "read"), "unavailable");
    expectType(mapped(error, "write"), "conflict");
  });

  test("a reset in the middle of the answer is lost too", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"jsonrpc":"2.0","id":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    assert.ok((await failure()) instanceof UpstreamLost);
  });

  test("no answer before the deadline: `timeout` for a read", async () => {
    answer = () => undefined; // never answers (closed with the server)
    const error = await failure({ timeoutMs: 150 });
    assert.ok(isUpstreamTimeout(error), String(error));
    assert.match(expectType(mapped(error), "timeout").message, /did not answer within/);
    expectType(mapped(error, "write"), "conflict");
  });

  test("an abort rejects with the caller's reason, whatever the upstream does", async () => {
    answer = () => undefined;
    const controller = new AbortController();
    const reason = new Error("caller gone");
    setTimeout(() => controller.abort(reason), 50);
    assert.equal(await failure({ signal: controller.signal }), reason);
  });
});

describe("what a 2xx answer carries", () => {
  test("JSON-RPC errors: -32602 `invalid_input` (masked), -32601 `not_found`, else `internal`", async () => {
    const cases = [
      [-32602, "invalid_input"],
      [-32601, "not_found"],
      [-32000, "internal"],
    ] as const;
    for (const [code, type] of cases) {
      answer = (res, id) =>
        void res
          .writeHead(200, { "content-type": "application/json" })
          .end(rpc(id, { error: { code, message: `bad key ${LEAKED.stripeKey}` } }));
      const tool = expectType(mapped(await failure(), "write"), type);
      assert.ok(!tool.message.includes(LEAKED.stripeKey), tool.message);
    }
  });

  test("a body that is not the JSON-RPC answer is lost; a result without content `internal`", async () => {
    for (const body of ["<html>oops</html>", '{"jsonrpc":"2.0","id":-5,"result":{}}']) {
      answer = (res) => void res.writeHead(200, { "content-type": "application/json" }).end(body);
      const error = await failure();
      assert.ok(error instanceof UpstreamLost, String(error));
      assert.match(error.message, /not the JSON-RPC answer/);
    }
    answer = (res, id) =>
      void res
        .writeHead(200, { "content-type": "application/json" })
        .end(rpc(id, { result: { structuredContent: {} } }));
    expectType(mapped(await failure()), "internal");
  });

  test("oversized: declared by content-length, or streamed without it: `invalid_input`", async () => {
    const big = "x".repeat(10_000);
    answer = (res, id) =>
      void res
        .writeHead(200, { "content-type": "application/json" })
        .end(rpc(id, { result: ok(big) }));
    const declared = expectType(mapped(await failure({ maxResultBytes: 1_000 })), "invalid_input");
    assert.equal(declared.details?.["reason"], "result_too_large");
    for (const sse of [false, true]) {
      answer = async (res) => {
        res.writeHead(200, { "content-type": sse ? "text/event-stream" : "application/json" });
        for (let i = 0; i < 20 && !res.destroyed; i++) {
          res.write("x".repeat(200));
          await sleep(2);
        }
        res.end();
      };
      const tool = expectType(mapped(await failure({ maxResultBytes: 1_000 })), "invalid_input");
      assert.equal(tool.details?.["limitBytes"], 1_000);
    }
  });
});

describe("SSE answers, parsed by eventsource-parser", () => {
  const sse = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" });

  test("a notification first, then the answer split mid-character across writes", async () => {
    const text = "naïve ☃ résumé";
    answer = async (res, id) => {
      sse(res);
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n');
      const bytes = Buffer.from(`event: message\ndata: ${rpc(id, { result: ok(text) })}\n\n`);
      const cut = bytes.indexOf(Buffer.from("☃")) + 1; // inside the 3-byte snowman
      res.write(bytes.subarray(0, cut));
      await sleep(20);
      res.end(bytes.subarray(cut));
    };
    const result = await call();
    assert.deepEqual(result.content, [{ type: "text", text }]);
  });

  test("CRLF line ends, multi-line data, and no blank line after the last event", async () => {
    answer = (res, id) => {
      sse(res);
      // Two data lines, joined with a line feed: cut between two JSON tokens.
      const message = rpc(id, { result: ok("crlf") });
      const cut = message.indexOf('"id"');
      const [head, tail] = [message.slice(0, cut), message.slice(cut)];
      res.end(`id: 1\r\ndata: ${head}\r\ndata: ${tail}`);
    };
    assert.deepEqual((await call()).content, [{ type: "text", text: "crlf" }]);
  });

  test("a stream left open after the answer resolves at the answer", async () => {
    answer = (res, id) => {
      sse(res);
      res.write(`data: ${rpc(id, { result: ok("early") })}\n\n`);
      // and never ends it (closed with the server)
    };
    const started = Date.now();
    assert.deepEqual((await call({ timeoutMs: 3_000 })).content, [{ type: "text", text: "early" }]);
    assert.ok(Date.now() - started < 1_000);
  });

  test("a stream that ends without the answer is lost: outcome unknown for a write", async () => {
    answer = (res, id) => {
      sse(res);
      res.write(`data: ${rpc(id + 1, { result: ok("someone else's") })}\n\n`);
      res.end(": a comment\n\n");
    };
    const error = await failure();
    assert.ok(error instanceof UpstreamLost, String(error));
    assert.match(error.message, /ended without the answer/);
    expectType(mapped(error, "write"), "conflict");
  });
});

describe("an `isError` result with toolgate's typed error in `_meta`", () => {
  const typed = {
    type: "unavailable",
    message: `ledger down (key ${LEAKED.stripeKey})`,
    retryable: true,
    retryAfterMs: 100,
  };
  const busy: CallToolResult = {
    isError: true,
    content: [{ type: "text", text: JSON.stringify({ error: typed }) }],
    structuredContent: { error: typed },
    _meta: { "toolgate/error": typed },
  };

  test("passes through the client as the upstream's result", async () => {
    answer = (res, id) =>
      void res
        .writeHead(200, { "content-type": "application/json" })
        .end(rpc(id, { result: busy }));
    assert.deepEqual(await call(), busy);
  });

  test("masked; a write that is resent on retry says so in the error's message", () => {
    const note = /does not deduplicate by idempotency key/;
    const shaped = (kind: "read" | "write", honoursKey: boolean) =>
      forwardResult(busy, { upstream: "web", tool: tools[kind], honoursKey, redact: true });
    const meta = (result: CallToolResult) =>
      (result._meta?.["toolgate/error"] as { message: string }).message;
    assert.match(meta(shaped("write", false)), note);
    assert.ok(!meta(shaped("write", false)).includes(LEAKED.stripeKey));
    assert.doesNotMatch(meta(shaped("write", true)), note);
    assert.doesNotMatch(meta(shaped("read", false)), note);
  });
});
