// Writes forwarded by the gateway and the idempotency outcome policy (issue 18, defect 13),
// through `toolgate gateway --config` and the SDK client:
// - retryable upstream errors (rate_limited, unavailable, timeout) are not stored under
//   the key: the same key runs again, and once it succeeds the result is replayed;
// - a write whose answer was lost is released and answered retryable when the upstream
//   deduplicates by the derived key (a toolgate upstream, detected by its tools'
//   `_meta["toolgate/sideEffect"]`, or `honoursIdempotencyKey: true`): the retry gets the
//   one real result; when it does not (`honoursIdempotencyKey: false`, or a server that
//   says nothing), the outcome is unknown, stored, and never resent;
// - a late success after the caller's `timeout` is stored and replayed, executed once.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import * as z from "zod";
import { ToolError, defineTool, rateLimited, unavailable } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { dig, digString } from "../helpers/json.js";
import { jsonLineWith } from "../helpers/process.js";
import { expectToolError, nextEvent, startServer, type RunningServer } from "../helpers/server.js";
import { startGatewayCli, type GatewayProcess } from "./fixtures/gateway-cli.js";
import { startHostileUpstream, type HostileUpstream } from "./fixtures/hostile-http.js";
import { startTcpProxy, type TcpProxy } from "./fixtures/tcp-proxy.js";

const STEP_MS = 20_000;
const REPLAY = "toolgate/idempotent-replay";

/** What the toolgate upstream did: every attempt at `transfer`, every run of `pay`. */
const attempts: number[] = [];
const payments: string[] = [];
const events = new EventEmitter();
/** Each `pay` waits for this before it finishes (a slow upstream). */
let release: () => void = () => undefined;
let gate = Promise.resolve();
function closeGate(): void {
  gate = new Promise((resolve) => (release = resolve));
}

let dir: string;
let bank: RunningServer;
let proxies: TcpProxy[] = [];
let declared: HostileUpstream;
let silent: HostileUpstream;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-forwarded-writes-"));
  const transfer = defineTool({
    name: "transfer",
    version: "1.0.0",
    description: "Transfers money. Busy, then down, then slow, then it works.",
    input: z.object({ amount: z.number().int() }),
    scopes: [],
    sideEffect: "write",
    handler: ({ amount }) => {
      attempts.push(amount);
      if (attempts.length === 1) throw rateLimited("Too many transfers. Wait and retry.", 200);
      if (attempts.length === 2) throw unavailable("The ledger is down. Retry shortly.", 200);
      if (attempts.length === 3)
        throw new ToolError("timeout", "The ledger did not answer in time.");
      return { transferred: amount, succeeded: attempts.length - 3 };
    },
  });
  const payHandler = async ({ ref }: { ref: string }) => {
    events.emit("started", ref);
    await gate;
    payments.push(ref);
    return { paid: ref, runs: payments.filter((p) => p === ref).length };
  };
  const pay = defineTool({
    name: "pay",
    version: "1.0.0",
    description: "Pays; takes as long as the test wants.",
    input: z.object({ ref: z.string() }),
    scopes: [],
    sideEffect: "write",
    handler: payHandler,
  });
  // A toolgate write that takes no keys: it does not deduplicate, and says so (no
  // idempotentHint), so the gateway keeps it at-most-once.
  const payUnkeyed = defineTool({
    name: "pay_unkeyed",
    version: "1.0.0",
    description: "Pays, without idempotency keys of its own.",
    input: z.object({ ref: z.string() }),
    scopes: [],
    sideEffect: "write",
    idempotency: false,
    handler: payHandler,
  });
  bank = await startServer([transfer, pay, payUnkeyed], {
    audit: false,
    store: memoryStore(),
  });
  proxies = [await startTcpProxy(bank.url.href), await startTcpProxy(bank.url.href)];
  declared = await startHostileUpstream();
  silent = await startHostileUpstream();
  const restart = "    restart: { initialDelay: 100ms, maxDelay: 400ms }";
  gateway = await startGatewayCli(
    dir,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      "pinning: false",
      "upstreams:",
      "  bank:", // a toolgate server: detected as deduplicating by the key
      `    url: ${proxies[0]!.url}`,
      restart,
      "    tools: { pay: { timeout: 1s } }",
      "  plainbank:", // the same server, declared not to: at-most-once
      `    url: ${proxies[1]!.url}`,
      "    honoursIdempotencyKey: false",
      restart,
      "  declared:", // a hand-written server that deduplicates, and the config says so
      `    url: ${declared.url}`,
      "    honoursIdempotencyKey: true",
      restart,
      "  silent:", // the same server, and nothing says so: at-most-once
      `    url: ${silent.url}`,
      restart,
      "",
    ].join("\n"),
  );
});

after(async () => {
  release();
  await gateway?.stop();
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([bank?.close(), declared?.close(), silent?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const replayed = (result: CallToolResult) => dig(result, "_meta", REPLAY) === true;

function reconnection(upstream: string): Promise<string> {
  return gateway.stderr.waitForLine(
    jsonLineWith({ msg: "upstream connected", upstream }),
    STEP_MS,
    `${upstream} to reconnect`,
    gateway.stderr.lines.length,
  );
}

/** Calls until the answer is not `in_progress` (the first call may still be running). */
async function settled(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = await gateway.call(name, args);
    const error = dig(result, "_meta", "toolgate/error") as { type?: string } | undefined;
    if (error?.type !== "in_progress") return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} stayed in_progress`);
}

describe("forwarded writes, through `toolgate gateway --config`", () => {
  test("rate_limited, unavailable and timeout are not stored: the same key runs until it succeeds", async () => {
    const args = { amount: 5, idempotency_key: "transfer-1" };
    for (const type of ["rate_limited", "unavailable", "timeout"]) {
      const result = await gateway.call("bank.transfer", args);
      const error = expectToolError(result, type);
      assert.equal(error.retryable, true);
      assert.equal(replayed(result), false, `${type} must not be a replay`);
    }
    const success = await gateway.call("bank.transfer", args);
    assert.notEqual(success.isError, true, JSON.stringify(success));
    assert.deepEqual(success.structuredContent, { transferred: 5, succeeded: 1 });
    assert.equal(replayed(success), false);
    const again = await gateway.call("bank.transfer", args);
    assert.equal(replayed(again), true);
    assert.deepEqual(again.structuredContent, { transferred: 5, succeeded: 1 });
    assert.deepEqual(attempts, [5, 5, 5, 5], "four attempts reached the upstream, one succeeded");
  });

  test("a lost answer from a toolgate upstream is released; the retry gets the one real result", async () => {
    closeGate();
    const started = nextEvent(events, "started", (ref) => ref === "lost-1", STEP_MS);
    const args = { ref: "lost-1", idempotency_key: "pay-lost-1" };
    const call = gateway.call("bank.pay", args);
    await started;
    const back = reconnection("bank");
    proxies[0]!.dropAll(); // the upstream runs the payment; its answer never arrives
    const lost = await call;
    const error = expectToolError(lost, "unavailable");
    assert.equal(error.retryable, true);
    assert.match(error.message, /deduplicates by the idempotency key/);
    assert.equal(replayed(lost), false);
    release();
    await back;
    const retried = await settled("bank.pay", args);
    assert.notEqual(retried.isError, true, JSON.stringify(retried));
    assert.equal(dig(retried, "structuredContent", "runs"), 1);
    assert.deepEqual(
      payments.filter((p) => p === "lost-1"),
      ["lost-1"],
      "the payment ran once",
    );
    assert.equal(replayed(await gateway.call("bank.pay", args)), true);
  });

  test("honoursIdempotencyKey: false keeps at-most-once: outcome unknown, stored, never resent", async () => {
    closeGate();
    const started = nextEvent(events, "started", (ref) => ref === "lost-2", STEP_MS);
    const args = { ref: "lost-2", idempotency_key: "pay-lost-2" };
    const call = gateway.call("plainbank.pay", args);
    await started;
    const back = reconnection("plainbank");
    proxies[1]!.dropAll();
    const lost = expectToolError(await call, "conflict");
    assert.equal(dig(lost.details, "reason"), "outcome_unknown");
    assert.match(lost.message, /check whether it happened/);
    release();
    await back;
    const again = await gateway.call("plainbank.pay", args);
    expectToolError(again, "conflict");
    assert.equal(replayed(again), true);
    assert.deepEqual(
      payments.filter((p) => p === "lost-2"),
      ["lost-2"],
    );
  });

  test("a toolgate write tool without idempotency keys keeps at-most-once", async () => {
    closeGate();
    const started = nextEvent(events, "started", (ref) => ref === "lost-3", STEP_MS);
    const args = { ref: "lost-3", idempotency_key: "pay-lost-3" };
    const call = gateway.call("bank.pay_unkeyed", args);
    await started;
    const back = reconnection("bank");
    proxies[0]!.dropAll();
    const lost = expectToolError(await call, "conflict");
    assert.equal(dig(lost.details, "reason"), "outcome_unknown");
    release();
    await back;
    expectToolError(await gateway.call("bank.pay_unkeyed", args), "conflict");
    assert.deepEqual(
      payments.filter((p) => p === "lost-3"),
      ["lost-3"],
    );
  });

  test("a server declared with honoursIdempotencyKey: true gets the lost write resent; one that says nothing does not", async () => {
    const args = { amount: 3, idempotency_key: "transfer-lost" };
    const declaredBack = reconnection("declared");
    const lost = expectToolError(await gateway.call("declared.transfer", args), "unavailable");
    assert.match(lost.message, /deduplicates/);
    await declaredBack;
    const retried = await gateway.call("declared.transfer", args);
    assert.equal(digString(retried, "content", 0, "text"), "transfer 1 done (replayed)");
    assert.equal(declared.transfers(), 1);

    const silentBack = reconnection("silent");
    const unknown = expectToolError(await gateway.call("silent.transfer", args), "conflict");
    assert.equal(dig(unknown.details, "reason"), "outcome_unknown");
    await silentBack;
    expectToolError(await gateway.call("silent.transfer", args), "conflict");
    assert.equal(silent.transfers(), 1);
    assert.equal(silent.calls.filter((c) => c.name === "transfer").length, 1, "never resent");
  });

  test("a retryable error a server without deduplication answers says to check before retrying", async () => {
    const warned = expectToolError(
      await gateway.call("silent.busy", { idempotency_key: "busy-1" }),
      "rate_limited",
    );
    assert.match(warned.message, /^Too busy\. /);
    assert.match(warned.message, /does not deduplicate by idempotency key/);
    assert.match(warned.message, /check whether it took effect/);
    const plain = expectToolError(
      await gateway.call("declared.busy", { idempotency_key: "busy-1" }),
      "rate_limited",
    );
    assert.equal(plain.message, "Too busy.");
  });

  test("a late success after the caller's timeout is stored and replayed; it ran once", async () => {
    closeGate();
    const started = nextEvent(events, "started", (ref) => ref === "late-1", STEP_MS);
    const args = { ref: "late-1", idempotency_key: "pay-late-1" };
    const call = gateway.call("bank.pay", args);
    await started;
    const first = await call; // the tool's deadline is 1 s; the payment is still running
    const error = expectToolError(first, "timeout");
    assert.equal(error.retryable, true);
    assert.match(error.message, /same idempotency key/);
    release();
    const replay = await settled("bank.pay", args);
    assert.notEqual(replay.isError, true, JSON.stringify(replay));
    assert.equal(replayed(replay), true);
    assert.deepEqual(replay.structuredContent, { paid: "late-1", runs: 1 });
    assert.deepEqual(
      payments.filter((p) => p === "late-1"),
      ["late-1"],
    );
  });
});
