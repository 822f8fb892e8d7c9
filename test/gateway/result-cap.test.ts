// An upstream answer larger than `maxResultBytes` (issue 18, defect 7): the gateway, as a
// user starts it (`toolgate gateway --config`), answers a typed `invalid_input` and drops
// the oversized answer as it streams, over HTTP (a JSON body and an SSE stream) and over
// stdio (a real SDK v1 server, whose answers end with their id), without its memory
// growing by the answer's size; answers under the cap pass whole; a write whose answer
// was too large ran once and its error is replayed under its key.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { dig, digString } from "../helpers/json.js";
import { REPO_ROOT } from "../helpers/process.js";
import { expectToolError } from "../helpers/server.js";
import {
  memoryOf,
  resetPeak,
  startGatewayCli,
  type GatewayProcess,
} from "./fixtures/gateway-cli.js";
import { startHostileUpstream, type HostileUpstream } from "./fixtures/hostile-http.js";

const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve("tsx")).href;
const BIG_STDIO = path.join(REPO_ROOT, "test", "gateway", "fixtures", "big-stdio-upstream.ts");
const MiB = 1024 * 1024;
/** The gateway-wide cap in the config, and the stdio upstream's own. */
const CAP = 1 * MiB;
const STDIO_CAP = 2 * MiB;
const TEN_MB = 10_000_000;

let dir: string;
let upstream: HostileUpstream;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-result-cap-"));
  upstream = await startHostileUpstream();
  gateway = await startGatewayCli(
    dir,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      "pinning: false",
      `maxResultBytes: ${CAP}`,
      "upstreams:",
      "  web:",
      `    url: ${upstream.url}`,
      "  local:",
      `    stdio: { command: ${JSON.stringify(process.execPath)}, args: [--import, ${JSON.stringify(TSX)}, ${JSON.stringify(BIG_STDIO)}], cwd: ${JSON.stringify(REPO_ROOT)} }`,
      "    connectTimeout: 30s",
      `    maxResultBytes: ${STDIO_CAP}`,
      "",
    ].join("\n"),
  );
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function textLength(result: CallToolResult): number {
  assert.notEqual(result.isError, true, JSON.stringify(result).slice(0, 500));
  return digString(result, "content", 0, "text").length;
}

function expectTooLarge(result: CallToolResult, limit: number) {
  const error = expectToolError(result, "invalid_input");
  assert.equal(dig(error.details, "reason"), "result_too_large");
  assert.equal(dig(error.details, "limitBytes"), limit);
  assert.ok(JSON.stringify(result).length < 10_000, "the oversized answer is not passed on");
  return error;
}

describe("maxResultBytes through `toolgate gateway --config`", () => {
  test("answers under the cap pass whole: HTTP JSON, HTTP SSE, stdio (with its own, higher cap)", async () => {
    assert.equal(textLength(await gateway.call("web.big", { bytes: 500_000 })), 500_000);
    assert.equal(textLength(await gateway.call("web.big", { bytes: 500_000, sse: true })), 500_000);
    // Over the gateway-wide cap, under the upstream's own.
    assert.equal(textLength(await gateway.call("local.big", { bytes: 1_500_000 })), 1_500_000);
  });

  test("a 10 MB answer over HTTP (JSON and SSE) is invalid_input: ask for less", async () => {
    for (const sse of [false, true]) {
      const error = expectTooLarge(await gateway.call("web.big", { bytes: TEN_MB, sse }), CAP);
      assert.match(error.message, /larger than the gateway allows/);
      assert.match(error.message, /Ask for less/);
    }
    // The upstream's connection is still good.
    assert.equal(textLength(await gateway.call("web.echo", { message: "still here" })), 10);
  });

  test("a 10 MB answer over stdio is dropped as it streams; the child keeps running", async () => {
    const pid = digString(await gateway.call("local.pid"), "content", 0, "text");
    expectTooLarge(await gateway.call("local.big", { bytes: TEN_MB }), STDIO_CAP);
    // Same process, next call fine: the transport was not closed (the SDK's reader closes
    // it past its own 10 MiB, which would kill every call in flight).
    assert.equal(digString(await gateway.call("local.pid"), "content", 0, "text"), pid);
    assert.equal(textLength(await gateway.call("local.big", { bytes: 1000 })), 1000);
  });

  test("a write whose answer is too large ran once: its error is stored and replayed", async () => {
    const args = { bytes: TEN_MB, idempotency_key: "too-large-write-1" };
    const first = await gateway.call("local.big_write", args);
    const error = expectTooLarge(first, STDIO_CAP);
    assert.match(error.message, /ran at the upstream/);
    assert.match(error.message, /Do not repeat the operation with a new key/);
    assert.equal(dig(first, "_meta", "toolgate/idempotent-replay"), undefined);
    const again = await gateway.call("local.big_write", args);
    expectTooLarge(again, STDIO_CAP);
    assert.equal(dig(again, "_meta", "toolgate/idempotent-replay"), true);
    assert.equal(digString(await gateway.call("local.writes"), "content", 0, "text"), "1");
  });

  test("five parallel 10 MB answers do not grow the gateway's memory by their size", async () => {
    const connected = await Promise.all([1, 2, 3, 4, 5].map(() => gateway.client()));
    const fiveAtOnce = () =>
      Promise.all(
        connected.map(({ client }) =>
          client.callTool({ name: "web.big", arguments: { bytes: TEN_MB } }),
        ),
      );
    // A first round grows the heap and pools to their working size (the old gateway grew
    // by 146 MiB here, and by 162 MiB more in the next round): measure the second.
    for (const result of await fiveAtOnce()) expectTooLarge(result, CAP);
    const canResetPeak = resetPeak(gateway.pid);
    const before = memoryOf(gateway.pid);
    let sampled = before.rss;
    let sampling = true;
    // Where the peak cannot be reset, sample the resident set while the calls run.
    const sampler = (async () => {
      while (sampling) {
        sampled = Math.max(sampled, memoryOf(gateway.pid).rss);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const results = await fiveAtOnce();
    sampling = false;
    await sampler;
    for (const result of results) expectTooLarge(result, CAP);
    const peak = Math.max(sampled, canResetPeak ? memoryOf(gateway.pid).peak : 0);
    const grew = peak - before.rss;
    // The old gateway read each answer whole and copied it (5 x 10 MB at least); dropping
    // at the cap leaves at most 5 x 1 MiB of buffers, plus the allocator's noise.
    assert.ok(grew < 20 * MiB, `the gateway's RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  });
});
