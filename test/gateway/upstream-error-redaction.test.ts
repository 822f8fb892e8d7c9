// Upstream internals must not reach the model (issue 18, defect 8): an upstream's JSON-RPC
// error message, the texts of its `isError` results and the message of a typed error
// (`_meta["toolgate/error"]`, `structuredContent.error`, the JSON text) go through the
// audit log's secret detectors (`redactString`) before the model sees them. Through
// `toolgate gateway --config`, against a hand-written upstream that leaks a JWT, a Bearer
// credential, an `sk_live_` key and a URL password. `redactErrors: false` on an upstream
// passes its texts as they are.
//
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { maskSecretsInText } from "../../src/audit/redact.js";
import { dig, digString } from "../helpers/json.js";
import { expectToolError } from "../helpers/server.js";
import { startGatewayCli, type GatewayProcess } from "./fixtures/gateway-cli.js";
import { LEAKED, startHostileUpstream, type HostileUpstream } from "./fixtures/hostile-http.js";

let dir: string;
let upstream: HostileUpstream;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-error-redaction-"));
  upstream = await startHostileUpstream();
  gateway = await startGatewayCli(
    dir,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      "pinning: false",
      "upstreams:",
      "  web:",
      `    url: ${upstream.url}`,
      "  raw:",
      `    url: ${upstream.url}`,
      "    redactErrors: false",
      "",
    ].join("\n"),
  );
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** None of these may reach the model. */
const SECRETS = [
  LEAKED.jwt,
  LEAKED.bearer.slice("Bearer ".length),
  LEAKED.stripeKey.slice("sk_live_".length),
  LEAKED.password,
];

function assertMasked(result: CallToolResult): void {
  const wire = JSON.stringify(result);
  for (const secret of SECRETS) assert.ok(!wire.includes(secret), `leaked: ${secret}`);
  assert.ok(wire.includes("[REDACTED]"), wire);
}

describe("upstream error texts, through `toolgate gateway --config`", () => {
  test("a JSON-RPC error message (-32602 -> invalid_input) is masked", async () => {
    const said =
      `Invalid params: key ${LEAKED.stripeKey} rejected, header was ` +
      `"Authorization: ${LEAKED.bearer}", session ${LEAKED.jwt}`;
    const result = await gateway.call("web.leak_rpc");
    const error = expectToolError(result, "invalid_input");
    assert.equal(
      error.message,
      `The upstream server 'web' refused the arguments: ${maskSecretsInText(said).slice(0, 300)}`,
    );
    assertMasked(result);
  });

  test("the text and structuredContent of an upstream's isError result are masked", async () => {
    const result = await gateway.call("web.leak_result");
    assert.equal(result.isError, true);
    assert.equal(
      digString(result, "content", 0, "text"),
      maskSecretsInText(`upstream failed with ${LEAKED.bearer} and ${LEAKED.jwt}`),
    );
    assert.equal(dig(result, "structuredContent", "code"), "BROKEN");
    assertMasked(result);
  });

  test("a typed error's message is masked in _meta, structuredContent and the JSON text alike", async () => {
    const message = `database at postgres://app:${LEAKED.password}@db/prod refused ${LEAKED.jwt}`;
    const result = await gateway.call("web.leak_typed");
    // expectToolError checks that the text is the JSON of structuredContent.
    const error = expectToolError(result, "unavailable");
    assert.equal(error.message, maskSecretsInText(message));
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 100);
    assert.deepEqual(dig(result, "_meta", "toolgate/error"), error);
    assertMasked(result);
  });

  test("redactErrors: false passes the upstream's texts as they are", async () => {
    const result = await gateway.call("raw.leak_result");
    assert.equal(
      digString(result, "content", 0, "text"),
      `upstream failed with ${LEAKED.bearer} and ${LEAKED.jwt}`,
    );
    const rpc = expectToolError(await gateway.call("raw.leak_rpc"), "invalid_input");
    assert.ok(rpc.message.includes(LEAKED.jwt));
  });
});
