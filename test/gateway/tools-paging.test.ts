// tools/list pages through the gateway, over real HTTP on 127.0.0.1: the gateway reads
// every page of an upstream that pages (its SDK v2 client walks them), and serves its own
// tools/list through createToolServer's handler, so a gateway of more than 1000 tools
// answers in pages (the default toolsPageSize) that a v1 client walks by nextCursor.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import * as z from "zod";
import { createToolServer, defineTool, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";

/** More than one default page (1000), so the gateway's own tools/list pages too. */
const COUNT = 1001;
const NAMES = Array.from({ length: COUNT }, (_, k) => `t${k + 1}`);

let upstream: ToolServer;
let gateway: Gateway;
let url: URL;
const clients: { close(): Promise<void> }[] = [];

before(async () => {
  upstream = createToolServer({
    name: "paged-upstream",
    version: "1.0.0",
    tools: NAMES.map((name) =>
      defineTool({
        name,
        version: "1.0.0",
        description: `The tool ${name}.`,
        input: z.object({}),
        scopes: [],
        sideEffect: "read",
        handler: () => ({ name }),
      }),
    ),
    // 101 pages of tools/list for the gateway's upstream client to walk: past the SDK
    // client's default cap of 64 pages, which left such an upstream down.
    toolsPageSize: 10,
    logger: silentLogger(),
    audit: false,
    store: memoryStore(),
  });
  const upstreamUrl = (await upstream.listen({ host: "127.0.0.1", port: 0 })).url;
  gateway = await createGateway({
    upstreams: { up: { url: upstreamUrl } },
    store: memoryStore(),
    audit: false,
    logger: silentLogger(),
    pinning: false,
  });
  url = new URL((await gateway.listen({ host: "127.0.0.1", port: 0 })).url);
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await gateway?.close();
  await upstream?.close();
});

describe("tools/list pages through the gateway", { timeout: 60_000 }, () => {
  test("the gateway reads every page of a paging upstream", () => {
    assert.deepEqual(
      gateway.upstreams().map((u) => [u.name, u.state, u.tools]),
      [["up", "ready", COUNT]],
    );
    assert.deepEqual(
      gateway.tools().map((t) => t.name),
      NAMES.map((name) => `up.${name}`),
    );
  });

  test("the gateway's own tools/list pages at the default size (1000)", async () => {
    const client = new ClientV1({ name: "gateway-paging-v1", version: "1.0.0" });
    await client.connect(new TransportV1(url));
    clients.push(client);
    const first = await client.listTools();
    assert.equal(first.tools.length, 1000);
    assert.ok(first.nextCursor, "a gateway of 1001 tools hands out a nextCursor");
    const second = await client.listTools({ cursor: first.nextCursor });
    assert.deepEqual(
      second.tools.map((t) => t.name),
      ["up.t1001"],
    );
    assert.equal(second.nextCursor, undefined);
    assert.deepEqual(
      [...first.tools, ...second.tools].map((t) => t.name),
      NAMES.map((name) => `up.${name}`),
    );
  });

  test("the SDK v2 client walks the gateway's pages", async () => {
    const client = new Client({ name: "gateway-paging-v2", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(url));
    clients.push(client);
    const { tools } = await client.listTools();
    assert.equal(tools.length, COUNT);
  });
});
