// The gateway's own credential refused by an upstream (issue 18, defect 15, gateway part):
// it used to be logged and retried as an outage ("upstream unavailable; reconnecting").
// Through `toolgate gateway --config`: at startup, an HTTP upstream that answers 401 to a
// wrong static token, and a `clientCredentials` token endpoint that answers 400
// invalid_client, are each logged as a refused credential naming the upstream (never the
// secret) and retried with backoff, so fixing the credential needs no restart; a call
// whose credential is refused answers `unavailable` without a word of the credential.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { digString } from "../helpers/json.js";
import { tryParse } from "../helpers/process.js";
import { expectToolError } from "../helpers/server.js";
import { startGatewayCli, type GatewayProcess } from "./fixtures/gateway-cli.js";
import { startHostileUpstream, type HostileUpstream } from "./fixtures/hostile-http.js";

const STEP_MS = 20_000;
const SECRETS = {
  LOCKED_TOKEN: "wrong-token-for-locked-7Q2",
  ROTATING_TOKEN: "good-token-for-rotating-9XK",
  OAUTH_SECRET: "client-secret-for-oauth-4JD",
};
const REFUSED = /refused the gateway's credential/;
const ERROR_LEVEL = 50; // pino

let dir: string;
let locked: HostileUpstream;
let rotating: HostileUpstream;
let oauthUpstream: HostileUpstream;
let tokenEndpoint: Server;
let gateway: GatewayProcess;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-upstream-credential-"));
  locked = await startHostileUpstream({ token: "the-token-locked-expects" });
  rotating = await startHostileUpstream({ token: SECRETS.ROTATING_TOKEN });
  oauthUpstream = await startHostileUpstream();
  // An authorization server that does not know the gateway's client.
  tokenEndpoint = createServer((_req, res) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "invalid_client", error_description: "unknown client" }));
  });
  await new Promise<void>((resolve) => tokenEndpoint.listen(0, "127.0.0.1", resolve));
  const tokenUrl = `http://127.0.0.1:${(tokenEndpoint.address() as AddressInfo).port}/token`;
  const restart = "    restart: { initialDelay: 100ms, maxDelay: 300ms }";
  gateway = await startGatewayCli(
    dir,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      "pinning: false",
      "upstreams:",
      "  locked:",
      `    url: ${locked.url}`,
      "    credential: { static: { env: LOCKED_TOKEN, scheme: Bearer } }",
      restart,
      "  rotating:",
      `    url: ${rotating.url}`,
      "    credential: { static: { env: ROTATING_TOKEN, scheme: Bearer } }",
      restart,
      "  oauth:",
      `    url: ${oauthUpstream.url}`,
      `    credential: { clientCredentials: { tokenUrl: ${JSON.stringify(tokenUrl)}, clientId: gateway, clientSecretEnv: OAUTH_SECRET } }`,
      restart,
      "",
    ].join("\n"),
    SECRETS,
  );
});

after(async () => {
  await gateway?.stop();
  await Promise.all([locked?.close(), rotating?.close(), oauthUpstream?.close()]);
  await new Promise((resolve) => tokenEndpoint?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Waits until `count` log lines match, and returns them. */
async function logLines(
  fields: Record<string, unknown>,
  message: RegExp,
  count: number,
): Promise<Record<string, unknown>[]> {
  const matches = (line: string) => {
    const entry = tryParse(line);
    return (
      entry !== undefined &&
      Object.entries(fields).every(([k, v]) => entry[k] === v) &&
      message.test(String(entry["msg"]))
    );
  };
  let from = 0;
  for (let i = 0; i < count; i++) {
    const line = await gateway.stderr.waitForLine(
      matches,
      STEP_MS,
      `log line ${i + 1} of ${count}`,
      from,
    );
    from = gateway.stderr.lines.indexOf(line, from) + 1;
  }
  return gateway.stderr.jsonLines().filter((entry) => matches(JSON.stringify(entry)));
}

function assertNoSecretLogged(): void {
  for (const [name, secret] of Object.entries(SECRETS))
    assert.ok(!gateway.stderr.text.includes(secret), `the log shows ${name}`);
}

describe("a refused upstream credential, through `toolgate gateway --config`", () => {
  test("at startup: logged as a refused credential naming the upstream, and retried with backoff", async () => {
    for (const upstream of ["locked", "oauth"]) {
      // Two lines: the first attempt and a retry.
      const lines = await logLines({ upstream, level: ERROR_LEVEL }, REFUSED, 2);
      assert.match(String(lines[0]!["msg"]), new RegExp(`upstream '${upstream}'`));
      assert.match(String(lines[0]!["msg"]), /check the credential/);
      assert.ok(Number(lines[0]!["retryInMs"]) > 0);
      // Not reported as an outage.
      assert.deepEqual(
        gateway.logs({ upstream, msg: "upstream unavailable; reconnecting with backoff" }),
        [],
      );
    }
    const [first] = gateway.logs({ upstream: "locked", level: ERROR_LEVEL });
    assert.equal(first?.["status"], 401);
    // The token endpoint's refusal says which variable holds the secret, not the secret.
    const [oauth] = gateway.logs({ upstream: "oauth", level: ERROR_LEVEL });
    assert.match(String(oauth?.["reason"]), /invalid_client/);
    assert.match(String(oauth?.["reason"]), /OAUTH_SECRET/);
    assertNoSecretLogged();
  });

  test("fixing the credential needs no restart: the next retry connects", async () => {
    const connected = gateway.stderr.waitForLine(
      (line) =>
        tryParse(line)?.["msg"] === "upstream connected" &&
        tryParse(line)?.["upstream"] === "locked",
      STEP_MS,
      "locked to connect",
      gateway.stderr.lines.length,
    );
    locked.requireToken(SECRETS.LOCKED_TOKEN); // the upstream now accepts what the gateway sends
    await connected;
    const result = await gateway.call("locked.echo", { message: "in" });
    assert.equal(digString(result, "content", 0, "text"), "in");
  });

  test("a call whose credential is refused answers unavailable, without the credential", async () => {
    assert.equal(
      digString(await gateway.call("rotating.echo", { message: "a" }), "content", 0, "text"),
      "a",
    );
    rotating.requireToken("a-token-the-gateway-does-not-have");
    const result = await gateway.call("rotating.echo", { message: "b" });
    const error = expectToolError(result, "unavailable");
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) > 0);
    assert.match(error.message, /did not accept the gateway's credential/);
    assert.match(error.message, /nothing was sent/);
    assert.ok(!JSON.stringify(result).includes(SECRETS.ROTATING_TOKEN));
    await logLines({ upstream: "rotating", level: ERROR_LEVEL }, REFUSED, 1);
    rotating.requireToken(SECRETS.ROTATING_TOKEN);
    assert.equal(
      digString(await gateway.call("rotating.echo", { message: "c" }), "content", 0, "text"),
      "c",
    );
    assertNoSecretLogged();
  });
});
