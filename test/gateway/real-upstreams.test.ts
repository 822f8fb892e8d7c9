// The gateway in front of real, unmodified MCP servers: the reference
// `@modelcontextprotocol/server-everything` and `@modelcontextprotocol/server-filesystem`
// (SDK v1, over stdio) and a toolgate-built server over Streamable HTTP. Clients speak to
// the gateway over HTTP on 127.0.0.1 with dev-issuer tokens, through the official SDK
// client (and raw fetch where the HTTP status is the point).
//
// Both stdio upstreams run behind a transparent tap (fixtures/real-tap.ts) that records
// every JSON-RPC message the gateway sends them, so "the upstream was never called" is
// read from what reached it, not inferred from a missing side effect alone.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, SdkHttpError, type Tool } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  devIssuer,
  notFound,
  type DevIssuer,
  type ToolServer,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { REPLAY_META_KEY } from "../../src/client/index.js";
import { readLock } from "../../src/contract/lock-file.js";
import { dig, digArray, digString } from "../helpers/json.js";
import { REPO_ROOT, tryParse } from "../helpers/process.js";
import {
  CLIENT_MODES,
  connectClient,
  connectClientWithHeaders,
  expectToolError,
  withTimeout,
  type ConnectedClient,
} from "../helpers/server.js";

const require = createRequire(import.meta.url);
const packageEntry = (name: string) =>
  path.join(path.dirname(require.resolve(`${name}/package.json`)), "dist", "index.js");
const EVERYTHING = packageEntry("@modelcontextprotocol/server-everything");
const FILESYSTEM = packageEntry("@modelcontextprotocol/server-filesystem");
const TAP = path.join(REPO_ROOT, "test", "gateway", "fixtures", "real-tap.ts");

const READ_FS = "fs:read";
const WRITE_FS = "fs:write";
const DEMO = "demo:read";
const ALL_SCOPES = [READ_FS, WRITE_FS, DEMO];
const HELLO_TEXT = "hello from the real filesystem server\nsecond line\n";
const SECRET_TEXT = "outside the allowed directory: must never be read";
const STEP_MS = 20_000;

let dir: string;
/** The one directory server-filesystem may touch. */
let data: string;
let outsideFile: string;
let lockFile: string;
let issuer: DevIssuer;
let gateway: Gateway;
let url: URL;
/** Tokens minted for the gateway's URL, by scope list. */
let fullToken: string;
let demoOnlyToken: string;
/** What each stdio upstream received, as parsed JSON-RPC messages. */
const taps: Record<"everything" | "fs", string> = { everything: "", fs: "" };

/** The toolgate-built upstream (HTTP) and how often its handler ran. */
let orders: ToolServer;
let ordersUrl: string;
const orderLookups: string[] = [];
const orderCancellations: { id: string; key: string | undefined }[] = [];

const clients: ConnectedClient[] = [];

/** Every tools/call a tapped upstream has received so far: [tool name, arguments]. */
function upstreamCalls(which: keyof typeof taps): [string, Record<string, unknown>][] {
  if (!existsSync(taps[which])) return [];
  return readFileSync(taps[which], "utf8")
    .split("\n")
    .map((line) => tryParse(line))
    .filter((m) => m?.["method"] === "tools/call")
    .map((m) => [
      digString(m, "params", "name"),
      (dig(m, "params", "arguments") ?? {}) as Record<string, unknown>,
    ]);
}

/** The tools a real server lists to a plain SDK client, asked directly (no gateway). */
async function listDirectly(command: string, args: string[]): Promise<Tool[]> {
  const client = new Client({ name: "direct-lister", version: "1.0.0" });
  try {
    await client.connect(new StdioClientTransport({ command, args, stderr: "ignore" }), {
      timeout: STEP_MS,
    });
    const { tools } = await client.listTools(undefined, { timeout: STEP_MS });
    return tools;
  } finally {
    await client.close();
  }
}

async function connectWith(token: string): Promise<ConnectedClient> {
  const connected = await connectClientWithHeaders(url, "legacy", {
    authorization: `Bearer ${token}`,
  });
  clients.push(connected);
  return connected;
}

/** A tools/call as raw JSON-RPC over fetch, to see the HTTP status the gateway answers. */
function rawCall(name: string, args: unknown, authorization?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args },
    }),
    signal: AbortSignal.timeout(STEP_MS),
  });
}

function textOf(result: unknown): string {
  return digString(result, "content", 0, "text");
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-real-upstreams-"));
  data = path.join(dir, "data");
  mkdirSync(data);
  writeFileSync(path.join(data, "hello.txt"), HELLO_TEXT);
  mkdirSync(path.join(dir, "outside"));
  outsideFile = path.join(dir, "outside", "secret.txt");
  writeFileSync(outsideFile, SECRET_TEXT);
  lockFile = path.join(dir, "toolgate.lock.json");
  taps.everything = path.join(dir, "everything-tap.jsonl");
  taps.fs = path.join(dir, "fs-tap.jsonl");
  issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });

  const lookupOrder = defineTool({
    name: "lookup_order",
    version: "1.2.0",
    description: "Looks up an order by id. Returns { id, status }.",
    input: z.object({ id: z.string().min(1) }),
    output: z.object({ id: z.string(), status: z.string() }),
    scopes: [],
    sideEffect: "read",
    handler: ({ id }) => {
      orderLookups.push(id);
      if (id !== "ORD-1") throw notFound(`Order ${id} does not exist. Check the id and try again.`);
      return { id, status: "shipped" };
    },
  });
  const cancelOrder = defineTool({
    name: "cancel_order",
    version: "1.2.0",
    description: "Cancels an order. Returns { cancelled, cancellations }.",
    input: z.object({ id: z.string().min(1) }),
    scopes: [],
    sideEffect: "write",
    handler: ({ id }, ctx) => {
      orderCancellations.push({ id, key: ctx.idempotencyKey });
      return { cancelled: id, cancellations: orderCancellations.length };
    },
  });
  orders = createToolServer({
    name: "orders",
    version: "1.2.0",
    tools: [lookupOrder, cancelOrder],
    logger: silentLogger(),
    audit: false,
    store: memoryStore(),
  });
  ordersUrl = (await orders.listen({ host: "127.0.0.1", port: 0 })).url;

  const tapped = (log: string, entry: string, ...args: string[]) => ({
    command: process.execPath,
    args: ["--import", "tsx", TAP, log, process.execPath, entry, ...args],
    cwd: REPO_ROOT,
  });
  gateway = await createGateway({
    upstreams: {
      everything: {
        stdio: tapped(taps.everything, EVERYTHING, "stdio"),
        connectTimeoutMs: STEP_MS,
        tools: { echo: { scopes: [DEMO] } },
      },
      fs: {
        stdio: tapped(taps.fs, FILESYSTEM, data),
        connectTimeoutMs: STEP_MS,
        defaults: { scopes: [READ_FS] },
        tools: { write_file: { sideEffect: "write", scopes: [WRITE_FS] } },
      },
      orders: { url: ordersUrl },
    },
    auth: issuer.verifier(),
    audit: false,
    store: memoryStore(),
    logger: silentLogger(),
    pinning: { lockFile },
  });
  url = new URL((await gateway.listen({ host: "127.0.0.1", port: 0 })).url);
  fullToken = await issuer.mint({ sub: "alice", scope: ALL_SCOPES, audience: url.href });
  demoOnlyToken = await issuer.mint({ sub: "bob", scope: [DEMO], audience: url.href });
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await gateway?.close();
  await orders?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the gateway in front of real MCP servers", { timeout: 60_000 }, () => {
  test("every tool of every upstream is published as <prefix>.<tool>, with the upstream's own schema", async () => {
    assert.deepEqual(
      gateway.upstreams().map((u) => [u.name, u.state]),
      [
        ["everything", "ready"],
        ["fs", "ready"],
        ["orders", "ready"],
      ],
    );
    const [everythingTools, fsTools] = await Promise.all([
      listDirectly(process.execPath, [EVERYTHING, "stdio"]),
      listDirectly(process.execPath, [FILESYSTEM, data]),
    ]);
    assert.ok(everythingTools.some((t) => t.name === "echo"));
    assert.ok(fsTools.some((t) => t.name === "read_text_file"));
    assert.ok(fsTools.some((t) => t.name === "write_file"));
    const fromStdio: Tool[] = [
      ...everythingTools.map((t) => ({ ...t, name: `everything.${t.name}` })),
      ...fsTools.map((t) => ({ ...t, name: `fs.${t.name}` })),
    ];
    const expectedNames = [
      ...fromStdio.map((t) => t.name),
      "orders.cancel_order",
      "orders.lookup_order",
    ].sort();

    for (const mode of CLIENT_MODES) {
      const connected = await connectClientWithHeaders(url, mode, {
        authorization: `Bearer ${fullToken}`,
      });
      clients.push(connected);
      const { tools } = await connected.client.listTools(undefined, { timeout: STEP_MS });
      assert.deepEqual(
        tools.map((t) => t.name).sort(),
        expectedNames,
        `${mode}: the published tools`,
      );
      const byName = new Map(tools.map((t) => [t.name, t]));
      for (const upstreamTool of fromStdio) {
        const published = byName.get(upstreamTool.name)!;
        assert.equal(published.description, upstreamTool.description ?? "", upstreamTool.name);
        // Reads keep the upstream's schema as is; writes gain the idempotency key argument.
        const schema = structuredClone(published.inputSchema) as {
          properties?: Record<string, unknown>;
          required?: string[];
        };
        if (published.annotations?.readOnlyHint !== true) {
          assert.ok(
            schema.properties && "idempotency_key" in schema.properties,
            `${upstreamTool.name} is a write and must ask for an idempotency_key`,
          );
          delete schema.properties["idempotency_key"];
          // ...and list it as required (the schema is the contract: calls without one are refused).
          assert.equal(schema.required?.at(-1), "idempotency_key", upstreamTool.name);
          schema.required = schema.required.slice(0, -1);
          if (schema.required.length === 0 && !("required" in upstreamTool.inputSchema))
            delete schema.required;
        }
        const upstreamSchema = upstreamTool.inputSchema;
        assert.deepEqual(schema, upstreamSchema, `${upstreamTool.name}: input schema`);
      }
      assert.equal(byName.get("everything.echo")?.annotations?.readOnlyHint, true);
      assert.equal(byName.get("fs.write_file")?.annotations?.readOnlyHint, false);
    }
  });

  test("everything.echo answers with the upstream's own echo", async () => {
    const { client } = await connectWith(fullToken);
    const before = upstreamCalls("everything").length;
    const result = await client.callTool(
      { name: "everything.echo", arguments: { message: "hello through the gateway" } },
      { timeout: STEP_MS },
    );
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(textOf(result), "Echo: hello through the gateway");
    // Forwarded exactly once, under the upstream's own name, with the caller's arguments.
    assert.deepEqual(upstreamCalls("everything").slice(before), [
      ["echo", { message: "hello through the gateway" }],
    ]);
  });

  test("fs.read_text_file reads a file in the allowed directory", async () => {
    const { client } = await connectWith(fullToken);
    const result = await client.callTool(
      { name: "fs.read_text_file", arguments: { path: path.join(data, "hello.txt") } },
      { timeout: STEP_MS },
    );
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(textOf(result), HELLO_TEXT);
    // The upstream's head argument works too (proof the arguments arrive as sent).
    const head = await client.callTool(
      { name: "fs.read_text_file", arguments: { path: path.join(data, "hello.txt"), head: 1 } },
      { timeout: STEP_MS },
    );
    assert.equal(textOf(head), "hello from the real filesystem server");
  });

  test("a path outside the allowed directory: the upstream's own isError result, passed through", async () => {
    const { client } = await connectWith(fullToken);
    const before = upstreamCalls("fs").length;
    const result = await client.callTool(
      { name: "fs.read_text_file", arguments: { path: outsideFile } },
      { timeout: STEP_MS },
    );
    assert.equal(result.isError, true, JSON.stringify(result));
    // server-filesystem's words, not toolgate's error contract.
    assert.match(textOf(result), /^Access denied - path outside allowed directories: /);
    assert.equal(dig(result, "structuredContent", "error"), undefined, JSON.stringify(result));
    assert.ok(!JSON.stringify(result).includes(SECRET_TEXT));
    // The gateway did forward it: the refusal is the upstream's decision.
    assert.deepEqual(upstreamCalls("fs").slice(before), [
      ["read_text_file", { path: outsideFile }],
    ]);
  });

  test("the lock file was created on the first run and pins every published tool", async () => {
    assert.ok(existsSync(lockFile), "the lock file was not created");
    const lock = await readLock(lockFile);
    const published = gateway.tools().map((t) => t.name);
    assert.ok(published.length > 20, `only ${published.length} tools published`);
    assert.deepEqual(Object.keys(lock.tools).sort(), [...published].sort());
    assert.deepEqual(gateway.quarantined(), []);
    const echo = lock.tools["everything.echo"]!;
    assert.equal(echo.description, "Echoes back the input string");
    assert.equal(dig(echo.inputSchema, "properties", "message", "type"), "string");
    assert.equal(lock.tools["orders.lookup_order"]?.version, "1.2.0");
  });

  describe("auth is refused at the gateway, before any upstream traffic", () => {
    const target = () => path.join(data, "never-written.txt");
    const writeArgs = () => ({
      path: target(),
      content: "must not be written",
      idempotency_key: "auth-refusal-1",
    });

    test("no token, a garbage token, an expired token: HTTP 401 and nothing reaches the upstream", async () => {
      const expiredIssuer = await devIssuer({
        keyFile: path.join(dir, "dev-issuer.json"),
        env: {},
        now: () => Date.now() - 2 * 3600_000,
      });
      const expired = await expiredIssuer.mint({
        sub: "alice",
        scope: ALL_SCOPES,
        audience: url.href,
        ttlSec: 60,
      });
      const before = upstreamCalls("fs").length;
      for (const [what, authorization] of [
        ["no token", undefined],
        ["a garbage token", "Bearer not-a-jwt-at-all"],
        ["an expired token", `Bearer ${expired}`],
      ] as const) {
        const response = await rawCall("fs.write_file", writeArgs(), authorization);
        const body = await response.text();
        assert.equal(response.status, 401, `${what}: ${body}`);
        assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /, what);
        // The JSON-RPC error says why; nothing of the call's result is in it.
        assert.ok(!body.includes("Successfully wrote"), body);
      }
      // The control: the same kind of raw request with the valid token gets through to the
      // upstream (a read, so nothing is written).
      const ok = await rawCall("fs.list_allowed_directories", {}, `Bearer ${fullToken}`);
      const okBody = await ok.text();
      assert.equal(ok.status, 200, okBody);
      assert.ok(okBody.includes("Allowed directories:"), okBody);
      assert.equal(existsSync(target()), false, "write_file ran without a valid token");
      // Of the four calls, only the control reached the upstream.
      assert.deepEqual(upstreamCalls("fs").slice(before), [["list_allowed_directories", {}]]);
    });

    test("an SDK client without a token cannot even connect (401, both protocol eras)", async () => {
      for (const mode of CLIENT_MODES) {
        const error: unknown = await withTimeout(
          connectClientWithHeaders(url, mode, {}),
          STEP_MS,
          "connecting without a token",
        ).then(
          async (connected) => {
            await connected.close();
            assert.fail(`${mode}: the SDK client connected without a token`);
          },
          (e: unknown) => e,
        );
        assert.ok(error instanceof SdkHttpError, `${mode}: ${String(error)}`);
        assert.equal(error.status, 401, `${mode}: ${error.message}`);
      }
    });

    test("a token without the tool's scope: forbidden, and the upstream is not called", async () => {
      const { client } = await connectWith(demoOnlyToken);
      const { tools } = await client.listTools(undefined, { timeout: STEP_MS });
      // The listing shows only what the token may call.
      assert.ok(tools.some((t) => t.name === "everything.echo"));
      assert.ok(
        !tools.some((t) => t.name.startsWith("fs.")),
        JSON.stringify(tools.map((t) => t.name)),
      );
      const before = upstreamCalls("fs").length;
      const result = await client.callTool(
        { name: "fs.write_file", arguments: writeArgs() },
        { timeout: STEP_MS },
      );
      const error = expectToolError(result, "forbidden");
      assert.match(error.message, new RegExp(WRITE_FS));
      assert.equal(existsSync(target()), false, "write_file ran without its scope");
      assert.deepEqual(upstreamCalls("fs").slice(before), []);
      // The scope it does have works.
      const echo = await client.callTool(
        { name: "everything.echo", arguments: { message: "bob may echo" } },
        { timeout: STEP_MS },
      );
      assert.equal(textOf(echo), "Echo: bob may echo");
    });
  });

  test("arguments are validated against the upstream's schema before forwarding", async () => {
    const { client } = await connectWith(fullToken);
    const before = upstreamCalls("everything").length;
    const wrongType = await client.callTool(
      { name: "everything.echo", arguments: { message: 42 } },
      { timeout: STEP_MS },
    );
    const error = expectToolError(wrongType, "invalid_input");
    assert.equal(error.retryable, false);
    const issues = digArray(error.details, "issues");
    assert.deepEqual(
      issues.map((i) => dig(i, "path")),
      ["/message"],
    );
    assert.equal(dig(issues[0], "expected"), "string");
    // get-sum's numbers, wrong in a nested way: both fields named by pointer.
    const sum = await client.callTool(
      { name: "everything.get-sum", arguments: { a: "1", b: [2] } },
      { timeout: STEP_MS },
    );
    const sumError = expectToolError(sum, "invalid_input");
    assert.deepEqual(
      digArray(sumError.details, "issues")
        .map((i) => dig(i, "path"))
        .sort(),
      ["/a", "/b"],
    );
    assert.deepEqual(
      upstreamCalls("everything").slice(before),
      [],
      "an invalid call reached the upstream",
    );
    // And a valid get-sum is the upstream's arithmetic.
    const ok = await client.callTool(
      { name: "everything.get-sum", arguments: { a: 2, b: 40 } },
      { timeout: STEP_MS },
    );
    assert.match(textOf(ok), /\b42\b/);
  });

  test("a write to server-filesystem needs an idempotency key and is forwarded at most once per key", async () => {
    const { client } = await connectWith(fullToken);
    const file = path.join(data, "written.txt");
    const writes = () =>
      upstreamCalls("fs").filter(([name, args]) => name === "write_file" && args["path"] === file);

    const noKey = await client.callTool(
      { name: "fs.write_file", arguments: { path: file, content: "no key" } },
      { timeout: STEP_MS },
    );
    const noKeyError = expectToolError(noKey, "invalid_input");
    assert.match(JSON.stringify(noKeyError), /idempotency_key/);
    assert.equal(existsSync(file), false);
    assert.equal(writes().length, 0);

    const args = { path: file, content: "first version", idempotency_key: "write-once-1" };
    const first = await client.callTool(
      { name: "fs.write_file", arguments: args },
      { timeout: STEP_MS },
    );
    assert.notEqual(first.isError, true, JSON.stringify(first));
    assert.match(textOf(first), /Successfully wrote to /);
    assert.equal(readFileSync(file, "utf8"), "first version");
    // The key stays at the gateway: the upstream gets its own arguments only.
    assert.deepEqual(writes(), [["write_file", { path: file, content: "first version" }]]);

    // Someone changes the file; a retry of the same operation must not overwrite it.
    writeFileSync(file, "changed on disk after the write");
    const replay = await client.callTool(
      { name: "fs.write_file", arguments: args },
      { timeout: STEP_MS },
    );
    assert.equal(dig(replay, "_meta", REPLAY_META_KEY), true, JSON.stringify(replay));
    assert.deepEqual(replay.content, first.content);
    assert.equal(readFileSync(file, "utf8"), "changed on disk after the write");
    assert.equal(writes().length, 1, "the replay was forwarded to the upstream");

    // The same key with other arguments is refused, not run.
    const reused = await client.callTool(
      { name: "fs.write_file", arguments: { ...args, content: "another operation" } },
      { timeout: STEP_MS },
    );
    expectToolError(reused, "conflict");
    assert.equal(readFileSync(file, "utf8"), "changed on disk after the write");
    assert.equal(writes().length, 1);

    // A new key is a new operation: it runs.
    const second = await client.callTool(
      {
        name: "fs.write_file",
        arguments: { path: file, content: "second version", idempotency_key: "write-once-2" },
      },
      { timeout: STEP_MS },
    );
    assert.notEqual(second.isError, true, JSON.stringify(second));
    assert.equal(dig(second, "_meta", REPLAY_META_KEY), undefined);
    assert.equal(readFileSync(file, "utf8"), "second version");
    assert.equal(writes().length, 2);
  });

  test("a toolgate server over HTTP as an upstream: callable, and its typed errors pass through unchanged", async () => {
    const { client } = await connectWith(fullToken);
    const { tools } = await client.listTools(undefined, { timeout: STEP_MS });
    const listed = tools.find((t) => t.name === "orders.lookup_order");
    assert.ok(listed, JSON.stringify(tools.map((t) => t.name)));
    assert.equal(listed.annotations?.readOnlyHint, true);
    assert.equal(listed.description, "Looks up an order by id. Returns { id, status }.");

    const lookups = orderLookups.length;
    const found = await client.callTool(
      { name: "orders.lookup_order", arguments: { id: "ORD-1" } },
      { timeout: STEP_MS },
    );
    assert.notEqual(found.isError, true, JSON.stringify(found));
    assert.deepEqual(found.structuredContent, { id: "ORD-1", status: "shipped" });

    const missing = await client.callTool(
      { name: "orders.lookup_order", arguments: { id: "ORD-404" } },
      { timeout: STEP_MS },
    );
    const error = expectToolError(missing, "not_found");
    assert.equal(error.message, "Order ORD-404 does not exist. Check the id and try again.");
    assert.equal(error.retryable, false);
    assert.deepEqual(orderLookups.slice(lookups), ["ORD-1", "ORD-404"]);

    // Exactly what the upstream says to a client of its own.
    const direct = await connectClient(new URL(ordersUrl), "legacy");
    clients.push(direct);
    const straight = await direct.client.callTool(
      { name: "lookup_order", arguments: { id: "ORD-404" } },
      { timeout: STEP_MS },
    );
    assert.deepEqual(missing.structuredContent, straight.structuredContent);
    assert.deepEqual(missing.content, straight.content);

    // The gateway validates against the upstream's published schema (min length 1).
    const before = orderLookups.length;
    const invalid = await client.callTool(
      { name: "orders.lookup_order", arguments: { id: "" } },
      { timeout: STEP_MS },
    );
    const invalidError = expectToolError(invalid, "invalid_input");
    assert.deepEqual(
      digArray(invalidError.details, "issues").map((i) => dig(i, "path")),
      ["/id"],
    );
    assert.equal(orderLookups.length, before, "an invalid call reached the toolgate upstream");
  });
  test("a toolgate write upstream behind the gateway: one execution per key across both layers", async () => {
    const { client } = await connectWith(fullToken);
    const args = { id: "ORD-7", idempotency_key: "cancel-ord-7" };
    const first = await client.callTool(
      { name: "orders.cancel_order", arguments: args },
      { timeout: STEP_MS },
    );
    assert.notEqual(first.isError, true, JSON.stringify(first));
    assert.deepEqual(first.structuredContent, { cancelled: "ORD-7", cancellations: 1 });
    // The upstream got a key (in _meta, derived by the gateway), not the caller's argument.
    assert.equal(orderCancellations.length, 1);
    assert.equal(typeof orderCancellations[0]!.key, "string");

    const replay = await client.callTool(
      { name: "orders.cancel_order", arguments: args },
      { timeout: STEP_MS },
    );
    assert.equal(dig(replay, "_meta", REPLAY_META_KEY), true, JSON.stringify(replay));
    assert.deepEqual(replay.structuredContent, first.structuredContent);
    assert.equal(orderCancellations.length, 1, "the replay ran the upstream's handler again");

    const other = await client.callTool(
      { name: "orders.cancel_order", arguments: { id: "ORD-7", idempotency_key: "cancel-ord-7b" } },
      { timeout: STEP_MS },
    );
    assert.deepEqual(other.structuredContent, { cancelled: "ORD-7", cancellations: 2 });
    assert.equal(orderCancellations.length, 2);
    assert.notEqual(orderCancellations[1]!.key, orderCancellations[0]!.key);
  });
});
