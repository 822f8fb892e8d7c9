// tools/list in pages (`toolsPageSize`), over real HTTP on 127.0.0.1: the SDK v2 client and
// the client kit walk every page by themselves; the SDK v1 client (`@modelcontextprotocol/sdk`)
// sees each page and its nextCursor; with auth the pages hold only what the token's scopes
// allow, the cursor staying a position in the full list; a cursor the server did not hand
// out, or one past the end, is Invalid params (-32602); and the default (1000) leaves a
// server of ordinary size answering in one response, as before.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import * as z from "zod";
import { createToolServer, defineTool, devIssuer, type ToolDefinition } from "../../src/index.js";
import { createToolClient } from "../../src/client/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  CLIENT_MODES,
  connectClientWithHeaders,
  startServer,
  type ClientMode,
  type RunningServer,
} from "../helpers/server.js";
import { httpRecorder, type HttpRecorder } from "../client/http-recorder.js";

/** `count` read tools named t1..tN; tool i needs `scopes(i)`. */
function makeTools(count: number, scopes: (i: number) => string[] = () => []): ToolDefinition[] {
  return Array.from({ length: count }, (_, k) =>
    defineTool({
      name: `t${k + 1}`,
      version: "1.0.0",
      description: `Tool number ${k + 1}.`,
      input: z.object({}),
      scopes: scopes(k + 1),
      sideEffect: "read",
      handler: () => ({ n: k + 1 }),
    }),
  );
}

const EIGHT = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];
// With auth: t1 needs nothing, t2/t4/t7 need `a`, the others need `b`.
const SCOPE_OF: Record<number, string[]> = { 2: ["a"], 4: ["a"], 7: ["a"] };
const scopeOf = (i: number) => (i === 1 ? [] : (SCOPE_OF[i] ?? ["b"]));

const running: RunningServer[] = [];
const v1Clients: ClientV1[] = [];
const v2Clients: Client[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "toolgate-paging-"));
after(async () => {
  await Promise.allSettled([...v1Clients, ...v2Clients].map((c) => c.close()));
  await Promise.allSettled(running.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(
  tools: ToolDefinition[],
  options: Parameters<typeof startServer>[1] = {},
): Promise<RunningServer> {
  const server = await startServer(tools, { store: memoryStore(), audit: false, ...options });
  running.push(server);
  return server;
}

/** A v1 client; `via` adds headers (a bearer token) or a recorder's fetch. */
async function connectV1(
  url: URL,
  via: { headers?: Record<string, string>; recorder?: HttpRecorder } = {},
): Promise<ClientV1> {
  const client = new ClientV1({ name: "toolgate-paging-v1", version: "1.0.0" });
  await client.connect(
    new TransportV1(url, {
      ...(via.headers ? { requestInit: { headers: via.headers } } : {}),
      ...(via.recorder ? { fetch: via.recorder.fetch } : {}),
    }),
  );
  v1Clients.push(client);
  return client;
}

/** A v2 client whose HTTP requests `recorder` sees (so a test can count the pages asked for). */
async function connectV2(url: URL, mode: ClientMode, recorder: HttpRecorder): Promise<Client> {
  const client = new Client(
    { name: "toolgate-paging-v2", version: "1.0.0" },
    { versionNegotiation: { mode } },
  );
  await client.connect(new StreamableHTTPClientTransport(url, { fetch: recorder.fetch }));
  v2Clients.push(client);
  return client;
}

const listRequests = (recorder: HttpRecorder) =>
  recorder.requests.filter((r) => r.rpcMethod === "tools/list").length;

interface RawPage {
  names: string[];
  nextCursor: string | undefined;
}

/** Every page by nextCursor with the v1 client, which returns one page per call. */
async function walkV1(client: ClientV1): Promise<RawPage[]> {
  const pages: RawPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    pages.push({ names: page.tools.map((t) => t.name), nextCursor: page.nextCursor });
    cursor = page.nextCursor;
    assert.ok(pages.length <= 10, "the walk does not end");
  } while (cursor !== undefined);
  return pages;
}

/** The JSON-RPC error a v1 call was answered with. */
async function rpcError(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await call.then(
    () => assert.fail("expected a JSON-RPC error"),
    (thrown: unknown) => thrown as { code: number; message: string },
  );
  return { code: error.code, message: error.message };
}

const INVALID_CURSOR = /Invalid cursor: .*start again without a cursor/;

describe("tools/list pages (toolsPageSize: 3, 8 tools)", () => {
  let paged: RunningServer;
  before(async () => {
    paged = await serve(makeTools(8), { toolsPageSize: 3 });
  });

  for (const mode of CLIENT_MODES) {
    test(`the SDK v2 client's listTools walks every page (${mode})`, async () => {
      const recorder = httpRecorder();
      const client = await connectV2(paged.url, mode, recorder);
      const { tools } = await client.listTools();
      assert.deepEqual(
        tools.map((t) => t.name),
        EIGHT,
      );
      assert.equal(listRequests(recorder), 3, "three pages were asked for");
    });
  }

  test("the SDK v1 client gets 3 tools and a nextCursor per page, all 8 in 3 pages", async () => {
    const client = await connectV1(paged.url);
    const pages = await walkV1(client);
    assert.deepEqual(
      pages.map((p) => p.names),
      [EIGHT.slice(0, 3), EIGHT.slice(3, 6), EIGHT.slice(6)],
    );
    assert.equal(typeof pages[0]?.nextCursor, "string");
    assert.equal(pages[2]?.nextCursor, undefined, "the last page has no nextCursor");
  });

  test("the client kit's listTools returns every tool, over the v2 and the v1 client", async () => {
    const v2 = httpRecorder();
    const overV2 = await createToolClient(await connectV2(paged.url, "legacy", v2)).listTools();
    const v1 = httpRecorder();
    const overV1 = await createToolClient(await connectV1(paged.url, { recorder: v1 })).listTools();
    assert.deepEqual(
      overV2.map((t) => t.name),
      EIGHT,
    );
    assert.deepEqual(
      overV1.map((t) => t.name),
      EIGHT,
    );
    assert.deepEqual([listRequests(v2), listRequests(v1)], [3, 3], "three pages each");
  });

  test("a cursor the server did not hand out is Invalid params (-32602), saying what to do", async () => {
    const client = await connectV1(paged.url);
    const first = await client.listTools();
    assert.ok(first.nextCursor, "the first page has a nextCursor");
    for (const cursor of ["garbage", "", `${first.nextCursor}A`, first.nextCursor.slice(1)]) {
      const error = await rpcError(client.listTools({ cursor }));
      assert.equal(error.code, -32602, `cursor ${JSON.stringify(cursor)}`);
      assert.match(error.message, INVALID_CURSOR);
      assert.match(error.message, /not a tools\/list cursor this server handed out/);
    }
    // Still serving: the cursor it did hand out gives the next page.
    const second = await client.listTools({ cursor: first.nextCursor });
    assert.deepEqual(
      second.tools.map((t) => t.name),
      EIGHT.slice(3, 6),
    );
  });

  test("a cursor past the end of the list (it has changed since) is Invalid params", async () => {
    // A server with more tools hands out a cursor beyond this one's 8.
    const bigger = await serve(makeTools(12), { toolsPageSize: 9 });
    const far = (await (await connectV1(bigger.url)).listTools()).nextCursor;
    assert.ok(far, "the 12-tool server pages");
    const error = await rpcError((await connectV1(paged.url)).listTools({ cursor: far }));
    assert.equal(error.code, -32602);
    assert.match(error.message, INVALID_CURSOR);
    assert.match(error.message, /past the end of the list/);
    // The same cursor at the server that gave it: the 3 tools after the first 9.
    const rest = await (await connectV1(bigger.url)).listTools({ cursor: far });
    assert.deepEqual(
      rest.tools.map((t) => t.name),
      ["t10", "t11", "t12"],
    );
    assert.equal(rest.nextCursor, undefined);
  });
});

describe("tools/list pages with auth: only the tools the token allows", () => {
  let server: RunningServer;
  let tokenA: string;
  let tokenB: string;
  before(async () => {
    const issuer = await devIssuer({ keyFile: path.join(dir, "dev.json") });
    server = await serve(makeTools(8, scopeOf), {
      toolsPageSize: 3,
      auth: issuer.verifier(),
    });
    tokenA = await issuer.mint({ sub: "alice", scope: ["a"], audience: server.url.href });
    tokenB = await issuer.mint({ sub: "bob", scope: ["b"], audience: server.url.href });
  });
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  test("each page holds allowed tools only, and the walk returns exactly the allowed set", async () => {
    const pagesA = await walkV1(await connectV1(server.url, bearer(tokenA)));
    // t1..t4 examined for the first page (t3 is hidden), t5..t8 for the second.
    assert.deepEqual(
      pagesA.map((p) => p.names),
      [["t1", "t2", "t4"], ["t7"]],
    );
    const pagesB = await walkV1(await connectV1(server.url, bearer(tokenB)));
    assert.deepEqual(
      pagesB.map((p) => p.names),
      [
        ["t1", "t3", "t5"],
        ["t6", "t8"],
      ],
    );
    for (const mode of CLIENT_MODES) {
      const conn = await connectClientWithHeaders(server.url, mode, bearer(tokenA).headers);
      after(() => conn.close());
      const { tools } = await conn.client.listTools();
      assert.deepEqual(
        tools.map((t) => t.name),
        ["t1", "t2", "t4", "t7"],
        mode,
      );
    }
  });

  test("a cursor is a position in the full list: another token's cursor pages that token's tools", async () => {
    const first = await (await connectV1(server.url, bearer(tokenA))).listTools();
    assert.ok(first.nextCursor, "the first page has a nextCursor");
    const forB = await (
      await connectV1(server.url, bearer(tokenB))
    ).listTools({
      cursor: first.nextCursor,
    });
    assert.deepEqual(
      forB.tools.map((t) => t.name),
      ["t5", "t6", "t8"],
    );
    assert.equal(forB.nextCursor, undefined);
  });
});

describe("the default page size (1000)", () => {
  test("10 tools: one page, no nextCursor (as before paging)", async () => {
    const server = await serve(makeTools(10));
    const page = await (await connectV1(server.url)).listTools();
    assert.equal(page.tools.length, 10);
    assert.equal("nextCursor" in page, false);
  });

  test("1000 tools are one page; the 1001st starts a second", async () => {
    const tools = makeTools(1001);
    const exact = await serve(tools.slice(0, 1000));
    const one = await (await connectV1(exact.url)).listTools();
    assert.equal(one.tools.length, 1000);
    assert.equal(one.nextCursor, undefined);
    const over = await serve(tools);
    const pages = await walkV1(await connectV1(over.url));
    assert.deepEqual(
      pages.map((p) => p.names.length),
      [1000, 1],
    );
    assert.deepEqual(pages[1]?.names, ["t1001"]);
  });
});

describe("toolsPageSize is checked", () => {
  for (const bad of [0, -1, 2.5, Number.NaN, Infinity, "3", null]) {
    test(`${typeof bad === "string" ? JSON.stringify(bad) : String(bad)} is refused with a TypeError`, () => {
      assert.throws(
        () =>
          createToolServer({
            name: "paging",
            version: "1.0.0",
            tools: [],
            audit: false,
            toolsPageSize: bad as number,
          }),
        (error: unknown) =>
          error instanceof TypeError &&
          /toolsPageSize must be a positive integer/.test(error.message),
      );
    });
  }
});
