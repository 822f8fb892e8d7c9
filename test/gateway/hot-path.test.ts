// The gateway's hot path, a read forwarded to an HTTP upstream, makes no AbortSignal: on
// Node 20 each one costs ~1 KB of old-generation memory and a few µs (see
// src/util/lazy-abort.ts), and the forwarded call is cancelled through the pipeline's
// Cancellation and undici's dispatch controller instead. A handler that needs a signal
// (a credential provider, the stdio client) still gets one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { MCP_HEADERS, parseOne, rawRequest, toolsCall } from "../helpers/http.js";
import { dig } from "../helpers/json.js";
import { countAbortControllers } from "../helpers/abort-count.js";

let upstream: ReturnType<typeof createToolServer>;
let gateway: Gateway;
let port: number;

before(async () => {
  upstream = createToolServer({
    name: "up",
    version: "1.0.0",
    tools: [
      defineTool({
        name: "echo",
        version: "1.0.0",
        description: "Returns its message.",
        input: { type: "object", properties: { message: { type: "string" } } },
        scopes: [],
        sideEffect: "read",
        handler: (args) => String((args as { message?: unknown }).message),
      }),
    ],
    audit: false,
    logger: silentLogger(),
  });
  const { url } = await upstream.listen({ port: 0, host: "127.0.0.1" });
  gateway = await createGateway({
    upstreams: { up: { url } },
    store: memoryStore(),
    audit: false,
    logger: silentLogger(),
    pinning: false,
  });
  ({ port } = await gateway.listen({ port: 0, host: "127.0.0.1" }));
});

after(async () => {
  await gateway.close();
  await upstream.close();
});

describe("a read forwarded to an HTTP upstream", () => {
  const counted = countAbortControllers();

  const call = async (message: string) => {
    const response = await rawRequest({
      port,
      headers: MCP_HEADERS,
      body: toolsCall("up.echo", { message }),
    });
    assert.equal(response.status, 200, response.body);
    return dig(parseOne(response), "result", "content", 0, "text");
  };

  it("creates no AbortController in the gateway or its upstream", async () => {
    assert.equal(await call("warm"), "warm"); // lazily built parts, once
    counted.reset();
    for (const message of ["one", "two", "three"]) assert.equal(await call(message), message);
    assert.equal(counted.created, 0);
  });

  it("in process too", async () => {
    await gateway.callTool("up.echo", { message: "warm" });
    counted.reset();
    const result = await gateway.callTool("up.echo", { message: "hi" });
    assert.equal(dig(result, "content", 0, "text"), "hi");
    assert.equal(counted.created, 0);
  });
});
