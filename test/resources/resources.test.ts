// Resources and resource templates over real HTTP on 127.0.0.1 with the official SDK client,
// in both protocol eras: listing, reading text and binary, templates with variables,
// completion of variables, and the errors (unknown URI, failing, malformed and slow reads)
// without leaking the cause, which the server log keeps under the incident id.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ResourceNotFoundError } from "@modelcontextprotocol/client";
import { MCP_HEADERS, jsonRpc, parseOne, rawRequest } from "../helpers/http.js";
import { dig } from "../helpers/json.js";
import { memoryLogger } from "../unit/helpers/memory-logger.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  assertNoLeak,
  connectClient,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import {
  CAUSE_SECRET,
  PNG_BASE64,
  SLOW_TIMEOUT_MS,
  STATIC_TEXT,
  aborted,
  createPrompts,
  createResources,
  createTemplates,
  rpcError,
} from "./definitions.js";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The JSON-RPC error a client call rejected with. */
const logs = memoryLogger();
let running: RunningServer;

before(async () => {
  running = await startServer([], {
    resources: createResources(),
    resourceTemplates: createTemplates(),
    prompts: createPrompts(),
    audit: false,
    logger: logs.log,
  });
});

after(async () => {
  await running?.close();
});

for (const mode of CLIENT_MODES) {
  describe(`resources over HTTP, ${mode} client`, () => {
    let connected: ConnectedClient;

    before(async () => {
      connected = await connectClient(running.url, mode);
      assert.equal(connected.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
    });

    after(async () => {
      await connected?.close();
    });

    test("capabilities: resources (subscribe), prompts, completions, tools", () => {
      const capabilities = connected.client.getServerCapabilities();
      assert.deepEqual(capabilities?.resources, { subscribe: true, listChanged: false });
      assert.deepEqual(capabilities?.prompts, { listChanged: false });
      assert.deepEqual(capabilities?.completions, {});
      assert.deepEqual(capabilities?.tools, { listChanged: false });
    });

    test("resources/list lists the fixed resources, not the templates", async () => {
      const { resources } = await connected.client.listResources();
      const uris = resources.map((r) => r.uri);
      assert.ok(uris.includes("test://static-text"));
      assert.ok(uris.includes("test://secret"), "auth is off: scoped resources are listed");
      assert.ok(!uris.some((uri) => uri.includes("{")));
      const text = resources.find((r) => r.uri === "test://static-text");
      assert.deepEqual(text, {
        uri: "test://static-text",
        name: "static-text",
        title: "Static text",
        description: "A static text resource.",
        mimeType: "text/plain",
        _meta: { "toolgate/scopes": [] },
      });
    });

    test("resources/templates/list lists the templates", async () => {
      const { resourceTemplates } = await connected.client.listResourceTemplates();
      const data = resourceTemplates.find((t) => t.name === "template-data");
      assert.deepEqual(data, {
        uriTemplate: "test://template/{id}/data",
        name: "template-data",
        description: "Data by id.",
        mimeType: "application/json",
        _meta: { "toolgate/scopes": [] },
      });
      assert.deepEqual(resourceTemplates.find((t) => t.name === "private")?._meta, {
        "toolgate/scopes": ["secrets:read"],
      });
    });

    test("reads a text resource", async () => {
      const { contents } = await connected.client.readResource({ uri: "test://static-text" });
      assert.deepEqual(contents, [
        { uri: "test://static-text", mimeType: "text/plain", text: STATIC_TEXT },
      ]);
    });

    test("reads a binary resource (bytes sent as base64)", async () => {
      const { contents } = await connected.client.readResource({ uri: "test://static-binary" });
      assert.deepEqual(contents, [
        { uri: "test://static-binary", mimeType: "image/png", blob: PNG_BASE64 },
      ]);
    });

    test("{ text, mimeType } and full contents arrays", async () => {
      const watched = await connected.client.readResource({ uri: "test://watched-resource" });
      assert.equal(watched.contents[0]?.mimeType, "text/markdown");
      const multi = await connected.client.readResource({ uri: "test://multi" });
      assert.deepEqual(multi.contents, [
        { uri: "test://multi/a", mimeType: "text/plain", text: "a" },
        { uri: "test://multi/b", mimeType: "application/octet-stream", blob: "AAEC" },
      ]);
    });

    test("reads through a template, with its variables", async () => {
      const { contents } = await connected.client.readResource({
        uri: "test://template/123/data",
      });
      assert.equal(contents.length, 1);
      assert.equal(contents[0]?.uri, "test://template/123/data");
      assert.equal(contents[0]?.mimeType, "application/json");
      assert.deepEqual(JSON.parse((contents[0] as { text: string }).text), {
        id: "123",
        templateTest: true,
        data: "Data for ID: 123",
      });
    });

    test("an unknown URI is the SDK's resource-not-found error (-32602, data.uri)", async () => {
      for (const uri of ["test://nope", "test://template//data", "not a uri"]) {
        const error = await rpcError(connected.client.readResource({ uri }));
        assert.ok(error instanceof ResourceNotFoundError, `${uri}: ${error.message}`);
        assert.equal(error.code, -32602);
        assert.deepEqual(error.data, { uri });
      }
    });

    test("a template read that throws notFound(...) is resource-not-found too", async () => {
      const error = await rpcError(
        connected.client.readResource({ uri: "test://template/404/data" }),
      );
      assert.ok(error instanceof ResourceNotFoundError);
      assert.equal(error.message, "No item 404.");
    });

    test("a failing read is an internal error: incident id, no cause, cause logged", async () => {
      for (const uri of ["test://broken", "test://bad-shape"]) {
        const error = await rpcError(connected.client.readResource({ uri }));
        assert.equal(error.code, -32603);
        assert.match(error.message, /failed unexpectedly\. Report incident/);
        const data = error.data as { type: string; incidentId: string };
        assert.equal(data.type, "internal");
        assert.match(data.incidentId, UUID);
        assertNoLeak({ message: error.message, data: error.data }, CAUSE_SECRET, "ECONNREFUSED");
        const logged = logs.lines().find((line) => line["incidentId"] === data.incidentId);
        assert.ok(logged, "the cause is logged under the incident id");
        assert.equal(logged["level"], 50);
        const cause = JSON.stringify(logged["err"]);
        // The thrown error itself, or what was wrong with what read returned.
        assert.match(cause, uri === "test://broken" ? /hunter2/ : /read must return/);
      }
    });

    test("a read past its deadline is aborted and answered as a retryable timeout", async () => {
      const before = aborted.length;
      const started = performance.now();
      const error = await rpcError(connected.client.readResource({ uri: "test://slow" }));
      assert.ok(performance.now() - started < SLOW_TIMEOUT_MS + 5_000);
      assert.equal(error.code, -32603);
      assert.match(error.message, new RegExp(`did not finish within ${SLOW_TIMEOUT_MS} ms`));
      assert.deepEqual(error.data, { type: "timeout", retryable: true });
      assert.equal(aborted.length, before + 1, "the read's signal aborted at the deadline");
    });

    test("a read whose client goes away is aborted, and is no incident", async () => {
      const own = await connectClient(running.url, mode);
      const before = aborted.length;
      const loggedBefore = logs.lines().length;
      const reading = own.client.readResource({ uri: "test://slow" }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await own.close(); // drops the HTTP connection of the running read
      await reading;
      for (let i = 0; i < 100 && aborted.length === before; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(aborted.length, before + 1, "the read's signal aborted");
      // Past the read's deadline too: a cancelled read is neither an incident nor a timeout.
      await new Promise((resolve) => setTimeout(resolve, SLOW_TIMEOUT_MS + 100));
      const incidents = logs
        .lines()
        .slice(loggedBefore)
        .filter((line) => line["level"] === 50 && /test:\/\/slow/.test(String(line["msg"])));
      assert.deepEqual(incidents, []);
    });

    test("completes a template variable", async () => {
      const result = await connected.client.complete({
        ref: { type: "ref/resource", uri: "test://template/{id}/data" },
        argument: { name: "id", value: "12" },
      });
      assert.deepEqual(result.completion, { values: ["123", "124"], total: 2, hasMore: false });
    });

    test("completion: a fixed resource or a variable without completer has no values", async () => {
      const fixed = await connected.client.complete({
        ref: { type: "ref/resource", uri: "test://static-text" },
        argument: { name: "x", value: "" },
      });
      assert.deepEqual(fixed.completion.values, []);
      const unknownVariable = await connected.client.complete({
        ref: { type: "ref/resource", uri: "test://template/{id}/data" },
        argument: { name: "nope", value: "" },
      });
      assert.deepEqual(unknownVariable.completion.values, []);
    });

    test("completion of an unknown template is Invalid Params", async () => {
      const error = await rpcError(
        connected.client.complete({
          ref: { type: "ref/resource", uri: "test://unknown/{x}" },
          argument: { name: "x", value: "" },
        }),
      );
      assert.equal(error.code, -32602);
      assert.match(error.message, /Unknown resource template/);
    });
  });
}

describe("a server without resources or prompts", () => {
  test("declares only tools and answers resources/* with Method not found", async () => {
    const toolsOnly = await startServer([], { audit: false });
    const connected = await connectClient(toolsOnly.url, "legacy");
    try {
      const capabilities = connected.client.getServerCapabilities();
      assert.equal(capabilities?.resources, undefined);
      assert.equal(capabilities?.prompts, undefined);
      assert.equal(capabilities?.completions, undefined);
      assert.deepEqual(capabilities?.tools, { listChanged: false });
      // Raw: the SDK client itself answers listResources() with [] for such a server.
      const response = await rawRequest({
        port: toolsOnly.address.port,
        method: "POST",
        path: "/mcp",
        headers: { ...MCP_HEADERS, host: `127.0.0.1:${toolsOnly.address.port}` },
        body: jsonRpc("resources/list", {}),
      });
      assert.equal(response.status, 200);
      assert.equal(dig(parseOne(response), "error", "code"), -32601);
    } finally {
      await connected.close();
      await toolsOnly.close();
    }
  });

  test("resources without completers declare no completions capability", async () => {
    const plain = await startServer([], {
      audit: false,
      resources: createResources().slice(0, 1),
    });
    const connected = await connectClient(plain.url, "auto");
    try {
      const capabilities = connected.client.getServerCapabilities();
      assert.deepEqual(capabilities?.resources, { subscribe: true, listChanged: false });
      assert.equal(capabilities?.prompts, undefined);
      assert.equal(capabilities?.completions, undefined);
    } finally {
      await connected.close();
      await plain.close();
    }
  });
});
