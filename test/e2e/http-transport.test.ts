// The HTTP guards, checked with raw requests (node:http, no SDK client): body limits,
// JSON and content-type checks, methods, paths, DNS-rebinding protection, malformed
// JSON-RPC. Every answer must be a clear JSON-RPC error (or a normal MCP answer), no
// response body may carry a stack trace, and the server must keep serving afterwards.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEFAULT_MAX_BODY_BYTES } from "../../src/server/index.js";
import { request } from "node:http";
import { SECRET, createFixtureTools, type FixtureToolSet } from "../fixtures/tools.js";
import {
  MCP_HEADERS,
  jsonRpc,
  parseMessages,
  parseOne,
  rawRequest,
  streamedRequest,
  toolsCall,
  type RawResponse,
} from "../helpers/http.js";
import { dig, digString } from "../helpers/json.js";
import { assertNoLeak, nextEvent, startServer, type RunningServer } from "../helpers/server.js";

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;

/** Checks a guard's answer: the status, a JSON-RPC error body with this code, no leak. */
function expectJsonRpcError(res: RawResponse, status: number, code?: number): { message: string } {
  assert.equal(res.status, status, `status: ${res.status} ${res.body}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body: unknown = JSON.parse(res.body);
  assert.equal(dig(body, "jsonrpc"), "2.0");
  assert.equal(dig(body, "id"), null);
  assert.equal(typeof dig(body, "error", "message"), "string");
  if (code !== undefined) assert.equal(dig(body, "error", "code"), code, res.body);
  return { message: digString(body, "error", "message") };
}

describe("HTTP guards (raw requests)", () => {
  let running: RunningServer;
  let port: number;
  let fixtures: FixtureToolSet;
  /** Every response body seen, checked for leaks at the end (and each test checks its own). */
  const seen: RawResponse[] = [];

  async function send(
    options: Omit<Parameters<typeof rawRequest>[0], "port">,
  ): Promise<RawResponse> {
    const res = await rawRequest({ port, ...options });
    seen.push(res);
    assertNoLeak(res.body, SECRET);
    return res;
  }

  /** A plain echo call that must succeed: the server is still serving. */
  async function assertStillServing(text = "alive"): Promise<void> {
    const res = await send({ headers: MCP_HEADERS, body: toolsCall("echo", { text }) });
    assert.equal(res.status, 200, res.body);
    const msg = parseOne(res);
    assert.deepEqual(dig(msg, "result", "structuredContent"), { echoed: text, n: null });
  }

  before(async () => {
    fixtures = createFixtureTools();
    running = await startServer(fixtures.tools, { http: { maxBodyBytes: 2048 } });
    port = running.address.port;
  });

  after(async () => {
    await running?.close();
    for (const res of seen) assertNoLeak(res.body, SECRET);
  });

  describe("stateless 2025-11-25 (legacy) path", () => {
    test("tools/call works without initialize, answered as one SSE message", async () => {
      const res = await send({
        headers: MCP_HEADERS,
        body: toolsCall("echo", { text: "hi", n: 1 }, 7),
      });
      assert.equal(res.status, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      assert.equal(res.headers["mcp-session-id"], undefined, "stateless: no session id");
      const msg = parseOne(res);
      assert.equal(dig(msg, "id"), 7);
      assert.deepEqual(dig(msg, "result", "structuredContent"), { echoed: "hi", n: 1 });
    });

    test("initialize is answered (no session) and later calls need nothing from it", async () => {
      const init = await send({
        headers: MCP_HEADERS,
        body: jsonRpc(
          "initialize",
          {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "raw", version: "1.0.0" },
          },
          0,
        ),
      });
      assert.equal(init.status, 200);
      assert.equal(init.headers["mcp-session-id"], undefined);
      const result = dig(parseOne(init), "result");
      assert.equal(dig(result, "protocolVersion"), "2025-11-25");
      assert.deepEqual(dig(result, "serverInfo"), { name: "toolgate-e2e", version: "0.0.1" });
      assert.deepEqual(dig(result, "capabilities", "tools"), { listChanged: false });

      const initialized = await send({
        headers: MCP_HEADERS,
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      });
      assert.equal(initialized.status, 202);
      assert.equal(initialized.body, "");

      const list = await send({ headers: MCP_HEADERS, body: jsonRpc("tools/list", {}, 2) });
      const names = (dig(parseOne(list), "result", "tools") as { name: string }[]).map(
        (t) => t.name,
      );
      assert.ok(names.includes("echo"));
    });

    test("a tool error is a normal result over raw HTTP too", async () => {
      const res = await send({ headers: MCP_HEADERS, body: toolsCall("explode", {}) });
      assert.equal(res.status, 200);
      const result = dig(parseOne(res), "result");
      assert.equal(dig(result, "isError"), true);
      assert.equal(dig(result, "structuredContent", "error", "type"), "internal");
      assert.equal(
        dig(result, "content", 0, "text"),
        JSON.stringify(dig(result, "structuredContent")),
      );
    });

    test("without an MCP-Protocol-Version header the call is still served", async () => {
      const { "mcp-protocol-version": _omit, ...headers } = MCP_HEADERS;
      const res = await send({ headers, body: toolsCall("echo", { text: "v" }) });
      assert.equal(res.status, 200);
      assert.deepEqual(dig(parseOne(res), "result", "structuredContent"), { echoed: "v", n: null });
    });

    test("an unsupported MCP-Protocol-Version is 400", async () => {
      const res = await send({
        headers: { ...MCP_HEADERS, "mcp-protocol-version": "1999-01-01" },
        body: toolsCall("echo", { text: "v" }),
      });
      expectJsonRpcError(res, 400);
    });

    test("an Accept header without text/event-stream is 406", async () => {
      const res = await send({
        headers: { ...MCP_HEADERS, accept: "application/json" },
        body: toolsCall("echo", { text: "v" }),
      });
      expectJsonRpcError(res, 406);
    });

    test("an unknown method is a JSON-RPC error -32601", async () => {
      const res = await send({ headers: MCP_HEADERS, body: jsonRpc("foo/bar", {}, 3) });
      const msg = parseOne(res);
      assert.equal(dig(msg, "id"), 3);
      assert.equal(dig(msg, "error", "code"), -32601);
    });

    test("a 2026-07-28 request without its _meta envelope is rejected with -32602", async () => {
      const res = await send({
        headers: { ...MCP_HEADERS, "mcp-protocol-version": "2026-07-28" },
        body: toolsCall("echo", { text: "v" }),
      });
      assert.equal(res.status, 400);
      assert.equal(dig(parseOne(res), "error", "code"), INVALID_PARAMS);
    });
  });

  describe("body size limit", () => {
    test("a body over http.maxBodyBytes (content-length) is 413, then the next request is served", async () => {
      const big = toolsCall("echo", { text: "x".repeat(3000) });
      const res = await send({ headers: MCP_HEADERS, body: big });
      const error = expectJsonRpcError(res, 413, INVALID_REQUEST);
      assert.match(error.message, /2048 bytes/);
      assert.equal(res.headers["connection"], "close");
      await assertStillServing("after 413");
    });

    test("a body just under the limit is served", async () => {
      const base = toolsCall("echo", { text: "" });
      const body = toolsCall("echo", { text: "y".repeat(2048 - Buffer.byteLength(base)) });
      assert.equal(Buffer.byteLength(body), 2048);
      const res = await send({ headers: MCP_HEADERS, body });
      assert.equal(res.status, 200, res.body);
    });

    test("a chunked body with no content-length is cut off once it passes the limit", async () => {
      // Starts like a small, valid message; the request is never ended, so only the
      // size check can answer it.
      const head =
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"';
      const res = await streamedRequest({
        port,
        headers: { ...MCP_HEADERS, "transfer-encoding": "chunked" },
        chunks: [head, "z".repeat(1000), "z".repeat(1000), "z".repeat(1000)],
      });
      seen.push(res);
      const error = expectJsonRpcError(res, 413, INVALID_REQUEST);
      assert.match(error.message, /2048 bytes/);
      await assertStillServing("after chunked 413");
    });

    test("a declared content-length over the limit is refused before the body is sent", async () => {
      const res = await streamedRequest({
        port,
        headers: { ...MCP_HEADERS, "content-length": "100000" },
        chunks: [],
      });
      seen.push(res);
      expectJsonRpcError(res, 413, INVALID_REQUEST);
      await assertStillServing();
    });
  });

  describe("request shape", () => {
    test("invalid JSON is 400 with -32700", async () => {
      const res = await send({ headers: MCP_HEADERS, body: '{"jsonrpc":"2.0","id":1,' });
      expectJsonRpcError(res, 400, PARSE_ERROR);
      await assertStillServing();
    });

    test("an empty body is 400 with -32700", async () => {
      const res = await send({ headers: MCP_HEADERS, body: "" });
      expectJsonRpcError(res, 400, PARSE_ERROR);
    });

    test("a wrong Content-Type is 415", async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
        const res = await send({
          headers: { ...MCP_HEADERS, "content-type": type },
          body: toolsCall("echo", { text: "t" }),
        });
        expectJsonRpcError(res, 415, INVALID_REQUEST);
      }
      const missing = await send({
        headers: { accept: MCP_HEADERS["accept"]! },
        body: toolsCall("echo", { text: "t" }),
      });
      expectJsonRpcError(missing, 415, INVALID_REQUEST);
    });

    test("application/json with a charset is accepted", async () => {
      const res = await send({
        headers: { ...MCP_HEADERS, "content-type": "application/json; charset=utf-8" },
        body: toolsCall("echo", { text: "cs" }),
      });
      assert.equal(res.status, 200, res.body);
    });

    for (const body of ["42", "[]", "null", '"tools/call"', "{}", "true", '{"jsonrpc":"2.0"}']) {
      test(`a JSON-RPC message that is not a request object (${body}) is 4xx, not a crash`, async () => {
        const res = await send({ headers: MCP_HEADERS, body });
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${res.body}`);
        const msg = parseOne(res);
        assert.equal(dig(msg, "jsonrpc"), "2.0");
        assert.equal(typeof dig(msg, "error", "code"), "number");
        await assertStillServing();
      });
    }

    test("a batch of two calls is answered per message (observed behaviour)", async () => {
      const res = await send({
        headers: MCP_HEADERS,
        body: `[${toolsCall("echo", { text: "a" }, 1)},${toolsCall("echo", { text: "b" }, 2)}]`,
      });
      assert.equal(res.status, 200, res.body);
      const messages = parseMessages(res);
      assert.deepEqual(
        messages.map((m) => [dig(m, "id"), dig(m, "result", "structuredContent", "echoed")]).sort(),
        [
          [1, "a"],
          [2, "b"],
        ],
      );
    });

    for (const [label, args] of [
      ["an array", [1, 2]],
      ["a string", "text"],
      ["null", null],
      ["a number", 5],
    ] as const) {
      test(`tools/call with arguments that are ${label}: JSON-RPC -32602, no crash`, async () => {
        const res = await send({ headers: MCP_HEADERS, body: toolsCall("echo", args, 11) });
        assert.equal(res.status, 200, res.body);
        const msg = parseOne(res);
        assert.equal(dig(msg, "id"), 11);
        assert.equal(dig(msg, "error", "code"), INVALID_PARAMS, res.body);
        assert.equal(dig(msg, "result"), undefined);
        await assertStillServing();
      });
    }

    test("tools/call without a name: JSON-RPC -32602", async () => {
      const res = await send({
        headers: MCP_HEADERS,
        body: jsonRpc("tools/call", { arguments: {} }, 12),
      });
      assert.equal(dig(parseOne(res), "error", "code"), INVALID_PARAMS, res.body);
      await assertStillServing();
    });
  });

  describe("client disconnects", () => {
    test("a client that drops the connection mid-call aborts the handler's signal", async () => {
      const { events } = fixtures.probes;
      const started = nextEvent(events, "started", (tag) => tag === "drop");
      const aborted = nextEvent(events, "aborted", (tag) => tag === "drop");
      const controller = new AbortController();
      const call = fetch(running.url, {
        method: "POST",
        headers: MCP_HEADERS,
        body: toolsCall("wait_for_cancel", { tag: "drop" }),
        signal: controller.signal,
      }).then(
        async (res) => res.text(),
        (error: unknown) => error,
      );
      await started;
      controller.abort();
      assert.ok((await call) instanceof Error, "the aborted fetch rejects");
      const [, reason] = await aborted;
      assert.equal(reason, "CancelledByClient");
      await assertStillServing("after disconnect");
    });
  });

  describe("methods and paths", () => {
    for (const method of ["GET", "DELETE", "PUT", "PATCH"]) {
      test(`${method} on the endpoint without sessions is 405 (Allow: POST)`, async () => {
        const res = await send({
          method,
          headers: { accept: "text/event-stream, application/json" },
        });
        expectJsonRpcError(res, 405, INVALID_REQUEST);
        assert.equal(res.headers["allow"], "POST");
      });
    }

    test("an unknown path is 404 and names the endpoint", async () => {
      const res = await send({ path: "/other", headers: MCP_HEADERS, body: toolsCall("echo", {}) });
      const error = expectJsonRpcError(res, 404, INVALID_REQUEST);
      assert.match(error.message, /\/mcp/);
      const sub = await send({
        path: "/mcp/extra",
        headers: MCP_HEADERS,
        body: toolsCall("echo", {}),
      });
      expectJsonRpcError(sub, 404);
    });

    test("a query string does not change the endpoint", async () => {
      const res = await send({
        path: "/mcp?x=1",
        headers: MCP_HEADERS,
        body: toolsCall("echo", { text: "q" }),
      });
      assert.equal(res.status, 200, res.body);
    });

    test("/healthz is 200", async () => {
      const res = await send({ method: "GET", path: "/healthz" });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { status: "ok" });
    });
  });

  describe("DNS-rebinding protection when bound to 127.0.0.1", () => {
    const body = toolsCall("echo", { text: "h" });

    for (const host of ["evil.example", "evil.example:80", "attacker.127.0.0.1.nip.io"]) {
      test(`Host: ${host} is 403`, async () => {
        const res = await send({ headers: { ...MCP_HEADERS, host }, body });
        assert.equal(res.status, 403, res.body);
        assert.equal(dig(parseOne(res), "error", "code"), -32000);
      });
    }

    test("Host: localhost, 127.0.0.1 and [::1] (any port) pass", async () => {
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "[::1]:9", "localhost"]) {
        const res = await send({ headers: { ...MCP_HEADERS, host }, body });
        assert.equal(res.status, 200, `${host}: ${res.body}`);
      }
    });

    test("Origin: http://evil.example is 403", async () => {
      const res = await send({ headers: { ...MCP_HEADERS, origin: "http://evil.example" }, body });
      assert.equal(res.status, 403, res.body);
    });

    test("Origin: http://localhost:1234 passes", async () => {
      const res = await send({
        headers: { ...MCP_HEADERS, origin: "http://localhost:1234" },
        body,
      });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(dig(parseOne(res), "result", "structuredContent"), { echoed: "h", n: null });
    });

    test("an accepted Host or Origin is remembered; a refused one is refused every time", async () => {
      // The guards remember the values they accepted (bounded): more distinct accepted
      // ports than they keep, and refused values before, between and after them.
      const status = async (headers: Record<string, string>) =>
        (await send({ headers: { ...MCP_HEADERS, ...headers }, body })).status;
      for (let i = 0; i < 70; i++) {
        assert.equal(await status({ host: `localhost:${1000 + i}` }), 200);
        if (i % 20 === 0) {
          assert.equal(await status({ host: "evil.example" }), 403);
          assert.equal(await status({ origin: "http://evil.example" }), 403);
        }
      }
      assert.equal(await status({ host: `localhost:${1000}` }), 200);
      assert.equal(await status({ origin: "http://localhost:1234" }), 200);
      assert.equal(await status({ host: "evil.example", origin: "http://localhost:1234" }), 403);
      assert.equal(await status({ origin: "http://evil.example" }), 403);
    });

    test("the server still serves after refused hosts and origins", async () => {
      await assertStillServing("after 403");
    });
  });
});

describe("HTTP guards with default options", () => {
  let running: RunningServer;

  before(async () => {
    running = await startServer(createFixtureTools().tools);
  });

  after(async () => {
    await running?.close();
  });

  async function post(body: string): Promise<RawResponse> {
    const res = await rawRequest({ port: running.address.port, headers: MCP_HEADERS, body });
    assertNoLeak(res.body, SECRET);
    return res;
  }

  const deeplyNested = (depth: number) =>
    `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"echo",` +
    `"arguments":{"text":"x","n":${"[".repeat(depth)}${"]".repeat(depth)}}}}`;

  test("nested arguments within the depth limit (60 levels) are a typed invalid_input", async () => {
    const res = await post(deeplyNested(60));
    assert.equal(res.status, 200, res.body);
    const issues = dig(parseOne(res), "result", "structuredContent", "error", "details", "issues");
    assert.deepEqual(issues, [{ path: "/n", message: "must be an integer", expected: "integer" }]);
  });

  test("arguments nested past the limit (3 000 levels) are refused with 400", async () => {
    expectJsonRpcError(await post(deeplyNested(3000)), 400, INVALID_REQUEST);
  });

  test("deeply nested arguments (10 000 levels, 20 KB) do not crash the server", async () => {
    const res = await post(deeplyNested(10_000));
    assert.ok(res.status >= 400, `status ${res.status}`);
    assert.equal(typeof dig(parseOne(res), "error", "code"), "number");
    const ok = await post(toolsCall("echo", { text: "after deep nesting" }));
    assert.equal(ok.status, 200, ok.body);
  });

  // A body nested 10 000 levels deep would overflow the SDK's recursive parser (HTTP 500);
  // toolgate refuses it first as the client error it is.
  test("deeply nested JSON is refused as a client error (400), not a 500", async () => {
    const res = await post(deeplyNested(10_000));
    const error = expectJsonRpcError(res, 400, INVALID_REQUEST);
    assert.match(error.message, /nests deeper than 100 levels/);
  });

  test("the default limit is 1 MiB", () => {
    assert.equal(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
  });

  test("a declared 1.5 MiB body is 413", async () => {
    const res = await streamedRequest({
      port: running.address.port,
      headers: { ...MCP_HEADERS, "content-length": String(1.5 * 1024 * 1024) },
      chunks: [],
    });
    const error = expectJsonRpcError(res, 413, INVALID_REQUEST);
    assert.match(error.message, new RegExp(`${DEFAULT_MAX_BODY_BYTES} bytes`));
  });

  test("a whole 1.5 MiB body sent with fetch is 413 with a JSON-RPC error body", async () => {
    const body = toolsCall("echo", { text: "c".repeat(1.5 * 1024 * 1024) });
    const res = await fetch(running.url, { method: "POST", headers: MCP_HEADERS, body });
    const text = await res.text();
    assert.equal(res.status, 413, text);
    assertNoLeak(text);
    const parsed: unknown = JSON.parse(text);
    assert.equal(dig(parsed, "error", "code"), INVALID_REQUEST);
    const ok = await fetch(running.url, {
      method: "POST",
      headers: MCP_HEADERS,
      body: toolsCall("echo", { text: "next" }),
    });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /"echoed":"next"/);
  });

  test("a 1.5 MiB body streamed in chunks is 413, then the server still serves", async () => {
    const chunk = "a".repeat(64 * 1024);
    const res = await streamedRequest({
      port: running.address.port,
      headers: { ...MCP_HEADERS, "transfer-encoding": "chunked" },
      chunks: Array.from({ length: 24 }, () => chunk),
    });
    expectJsonRpcError(res, 413, INVALID_REQUEST);
    assertNoLeak(res.body);
    const ok = await rawRequest({
      port: running.address.port,
      headers: MCP_HEADERS,
      body: toolsCall("echo", { text: "after" }),
    });
    assert.equal(ok.status, 200, ok.body);
  });

  test("a 900 KiB body under the default limit is served", async () => {
    const text = "b".repeat(900 * 1024);
    const res = await rawRequest({
      port: running.address.port,
      headers: MCP_HEADERS,
      body: toolsCall("echo", { text }),
    });
    assert.equal(res.status, 200);
    assert.equal(
      digString(parseOne(res), "result", "structuredContent", "echoed").length,
      text.length,
    );
  });
});

describe("HTTP guards with explicit allowedHosts", () => {
  let running: RunningServer;

  before(async () => {
    running = await startServer(createFixtureTools().tools, {
      http: { allowedHosts: ["mcp.example.com"], path: "/rpc" },
    });
  });

  after(async () => {
    await running?.close();
  });

  test("only the configured host names pass, on the configured path", async () => {
    const body = toolsCall("echo", { text: "h" });
    const port = running.address.port;
    const ok = await rawRequest({
      port,
      path: "/rpc",
      headers: { ...MCP_HEADERS, host: "mcp.example.com" },
      body,
    });
    assert.equal(ok.status, 200, ok.body);
    const local = await rawRequest({
      port,
      path: "/rpc",
      headers: { ...MCP_HEADERS, host: `localhost:${port}` },
      body,
    });
    assert.equal(local.status, 403, local.body);
    const oldPath = await rawRequest({
      port,
      path: "/mcp",
      headers: { ...MCP_HEADERS, host: "mcp.example.com" },
      body,
    });
    assert.equal(oldPath.status, 404, oldPath.body);
  });
});

describe("HTTP request timeout", () => {
  let running: RunningServer;

  before(async () => {
    running = await startServer(createFixtureTools().tools, { http: { requestTimeoutMs: 1000 } });
  });

  after(async () => {
    await running?.close();
  });

  // Node checks request timeouts only every connectionsCheckingInterval; toolgate sets
  // it from requestTimeoutMs so a short limit is enforced near its value.
  test("a client that never finishes its body is cut off near requestTimeoutMs (408)", async () => {
    const t0 = performance.now();
    const status = await new Promise<number | string>((resolve) => {
      const req = request({
        host: "127.0.0.1",
        port: running.address.port,
        method: "POST",
        path: "/mcp",
        headers: { ...MCP_HEADERS, "content-length": "100" },
        agent: false,
      });
      const timer = setTimeout(() => {
        req.destroy();
        resolve("no answer within 6000 ms");
      }, 6000);
      req.on("response", (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (error) => {
        clearTimeout(timer);
        resolve(`error: ${error.message}`);
      });
      req.flushHeaders();
      req.write("{");
    });
    const elapsed = performance.now() - t0;
    assert.equal(status, 408, `after ${Math.round(elapsed)} ms`);
    assert.ok(elapsed < 5000, `cut off after ${Math.round(elapsed)} ms`);
  });
});
