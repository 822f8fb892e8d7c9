// The options of the gateway's outbound side, in the config file and in code:
// `maxResultBytes` (top level and per upstream), `redactErrors` and `honoursIdempotencyKey`
// (per upstream). Good values land in GatewayOptions; bad ones are reported at their line,
// or as a TypeError naming the field.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, createGateway, parseGatewayConfig } from "../../src/gateway/index.js";

const base = (top: string, upstream: string) =>
  [
    "auth: { none: true }",
    "pinning: false",
    top,
    "upstreams:",
    "  web:",
    "    url: http://127.0.0.1:9/mcp",
    upstream,
    "",
  ].join("\n");

async function issues(text: string): Promise<string[]> {
  const error = await parseGatewayConfig(text, { file: "toolgate.yaml", baseDir: "/tmp" }).then(
    () => assert.fail("expected a ConfigError"),
    (err: unknown) => err,
  );
  assert.ok(error instanceof ConfigError);
  return error.message.split("\n");
}

describe("outbound options", () => {
  test("the config file's keys become GatewayOptions", async () => {
    const { options } = await parseGatewayConfig(
      base(
        "maxResultBytes: 2097152",
        "    maxResultBytes: 65536\n    redactErrors: false\n    honoursIdempotencyKey: true",
      ),
      { file: "toolgate.yaml", baseDir: "/tmp" },
    );
    assert.equal(options.maxResultBytes, 2_097_152);
    const web = options.upstreams["web"]!;
    assert.equal(web.maxResultBytes, 65_536);
    assert.equal(web.redactErrors, false);
    assert.equal(web.honoursIdempotencyKey, true);
  });

  test("bad values are reported at their line, with what is expected", async () => {
    assert.deepEqual(
      await issues(
        base("maxResultBytes: 10", "    redactErrors: maybe\n    honoursIdempotencyKey: 1"),
      ),
      [
        "toolgate.yaml:3:17: maxResultBytes: must be an integer number of bytes, at least 1024 (default 4194304, 4 MiB)",
        "toolgate.yaml:7:19: upstreams.web.redactErrors: must be true or false",
        "toolgate.yaml:8:28: upstreams.web.honoursIdempotencyKey: must be true or false",
      ],
    );
  });

  test("createGateway refuses bad values with a TypeError naming the field", async () => {
    const upstreams = { web: { url: "http://127.0.0.1:9/mcp" } };
    await assert.rejects(
      createGateway({ upstreams, maxResultBytes: 1.5 }),
      /createGateway: maxResultBytes must be an integer number of bytes, at least 1024/,
    );
    await assert.rejects(
      createGateway({ upstreams: { web: { ...upstreams.web, maxResultBytes: 0 } } }),
      /upstreams\.web\.maxResultBytes must be an integer/,
    );
    await assert.rejects(
      createGateway({
        upstreams: { web: { ...upstreams.web, redactErrors: "no" as unknown as boolean } },
      }),
      /upstreams\.web\.redactErrors must be true or false/,
    );
  });
});
