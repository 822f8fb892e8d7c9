// An HTTP upstream that answers tools/call with a non-2xx status (issue 18, defect 2): the
// gateway used to die of it (undici's `error` event after `body.destroy()`, unhandled),
// taking every upstream down. Driven as a user runs it (`toolgate gateway --config`,
// called with the SDK client over HTTP): the caller gets a retryable typed error with
// `retryAfterMs`, the gateway keeps serving the other upstream, and a 404 on the session
// (the upstream restarted) reconnects so that the next call succeeds. The SDK client's
// own requests (tools/list refreshes) answered with 500 are survived too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import * as z from "zod";
import { defineTool } from "../../src/index.js";
import { digString } from "../helpers/json.js";
import { jsonLineWith } from "../helpers/process.js";
import { expectToolError, startServer, type RunningServer } from "../helpers/server.js";
import { startGatewayCli, type GatewayProcess } from "./fixtures/gateway-cli.js";
import { startHostileUpstream, type HostileUpstream } from "./fixtures/hostile-http.js";

const STEP_MS = 20_000;

let dir: string;
let hostile: HostileUpstream;
let orders: RunningServer;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-upstream-status-"));
  hostile = await startHostileUpstream();
  const lookup = defineTool({
    name: "lookup",
    version: "1.0.0",
    description: "Looks up an order.",
    scopes: [],
    input: z.object({ id: z.string() }),
    sideEffect: "read",
    handler: ({ id }) => `order ${id}: shipped`,
  });
  orders = await startServer([lookup], { audit: false });
  gateway = await startGatewayCli(
    dir,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      `pinning: { lockFile: ${JSON.stringify(path.join(dir, "lock.json"))}, refreshInterval: 200ms }`,
      "upstreams:",
      "  hostile:",
      `    url: ${hostile.url}`,
      "    restart: { initialDelay: 100ms, maxDelay: 400ms }",
      "  orders:",
      `    url: ${orders.url.href}`,
      "",
    ].join("\n"),
  );
});

after(async () => {
  // stop() also asserts the gateway is still running: it did not die along the way.
  await gateway?.stop();
  await hostile?.close();
  await orders?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const text = (result: CallToolResult) => digString(result, "content", 0, "text");

async function ordersStillServed(): Promise<void> {
  assert.equal(text(await gateway.call("orders.lookup", { id: "A-1" })), "order A-1: shipped");
}

/** The line index now, and a wait for the hostile upstream's next "upstream connected". */
function nextConnection(): Promise<string> {
  return gateway.stderr.waitForLine(
    jsonLineWith({ msg: "upstream connected", upstream: "hostile" }),
    STEP_MS,
    "the hostile upstream's reconnection",
    gateway.stderr.lines.length,
  );
}

describe("non-2xx answers of an HTTP upstream, through `toolgate gateway --config`", () => {
  test("400, 500 and 503 answer `unavailable`, 429 `rate_limited`; the gateway keeps serving", async () => {
    for (const [code, type] of [
      [400, "unavailable"],
      [500, "unavailable"],
      [503, "unavailable"],
      [429, "rate_limited"],
    ] as const) {
      const error = expectToolError(await gateway.call("hostile.status", { code }), type);
      assert.equal(error.retryable, true, `HTTP ${code}`);
      assert.ok((error.retryAfterMs ?? 0) > 0, `HTTP ${code}: retryAfterMs ${error.retryAfterMs}`);
      assert.match(error.message, /hostile/, `HTTP ${code}: the message names the upstream`);
      await ordersStillServed();
    }
    // Retry-After of a 503 or 429 is the upstream's (1 s).
    const limited = expectToolError(
      await gateway.call("hostile.status", { code: 429 }),
      "rate_limited",
    );
    assert.equal(limited.retryAfterMs, 1000);
    // The hostile upstream itself still answers well-formed calls.
    assert.equal(text(await gateway.call("hostile.echo", { message: "after" })), "after");
  });

  test("a 404 on the session (the upstream restarted) reconnects, and the next call succeeds", async () => {
    const initialized = hostile.initializations();
    const reconnected = nextConnection();
    hostile.expireSessions();
    const error = expectToolError(
      await gateway.call("hostile.echo", { message: "lost session" }),
      "unavailable",
    );
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) > 0);
    await ordersStillServed();
    await reconnected;
    assert.equal(hostile.initializations(), initialized + 1);
    assert.equal(text(await gateway.call("hostile.echo", { message: "back" })), "back");

    // A 404 answered to tools/call itself is read the same way.
    const again = nextConnection();
    expectToolError(await gateway.call("hostile.status", { code: 404 }), "unavailable");
    await again;
    assert.equal(text(await gateway.call("hostile.echo", { message: "back again" })), "back again");
  });

  test("the SDK client's tools/list refresh answered 500: logged, survived, calls go on", async () => {
    const from = gateway.stderr.lines.length;
    hostile.failListWith(500);
    await gateway.stderr.waitForLine(
      jsonLineWith({ msg: "tools/list refresh failed", upstream: "hostile" }),
      STEP_MS,
      "a failed refresh",
      from,
    );
    assert.equal(
      text(await gateway.call("hostile.echo", { message: "listed or not" })),
      "listed or not",
    );
    hostile.failListWith(undefined);
    await ordersStillServed();
  });
});
