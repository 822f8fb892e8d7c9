// Two Authorization credentials in one request (issue 18, defect 6) get 400 on every HTTP
// path: Node keeps only the first duplicate field in `req.headers`, and a proxy in front
// may have checked the other one. fetch merges duplicate fields into one value, so the
// duplicates are written by hand over a raw TCP socket; the merged form goes through fetch.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool, devIssuer, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-dup-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
const count = defineTool({
  name: "count",
  version: "1.0.0",
  description: "Counts its runs.",
  input: z.object({}),
  scopes: [],
  sideEffect: "read",
  handler: () => ({ run: ++runs }),
});

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request written by hand (header lines exactly as given); resolves with the
 * response once it is complete (by Content-Length, or the last chunk).
 */
function rawPost(url: string, headerLines: readonly string[], body: unknown): Promise<RawResponse> {
  const { hostname, port, pathname } = new URL(url);
  const payload = Buffer.from(JSON.stringify(body));
  const head = [
    `POST ${pathname} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    "Content-Type: application/json",
    "Accept: application/json, text/event-stream",
    `Content-Length: ${payload.length}`,
    ...headerLines,
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = parseResponse(received);
      if (response) {
        socket.destroy();
        resolve(response);
      }
    });
    socket.on("error", reject);
    socket.on("close", () =>
      reject(new Error(`connection closed: ${JSON.stringify(received.toString("utf8"))}`)),
    );
    socket.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), payload]));
  });
}

/** The response in `data`, or undefined while it is incomplete. */
function parseResponse(data: Buffer): RawResponse | undefined {
  const split = data.indexOf("\r\n\r\n");
  if (split < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, split).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)?.[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = data.subarray(split + 4);
  const length = headers.get("content-length");
  if (length !== undefined) {
    if (rest.length < Number(length)) return undefined;
    return { status, headers, body: rest.subarray(0, Number(length)).toString("utf8") };
  }
  assert.equal(headers.get("transfer-encoding"), "chunked", "a length or chunks");
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = rest.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(rest.subarray(at, eol).toString("latin1"), 16);
    if (size === 0) return { status, headers, body: Buffer.concat(chunks).toString("utf8") };
    if (rest.length < eol + 2 + size + 2) return undefined;
    chunks.push(rest.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

const callBody = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "count", arguments: {} },
});
const initializeBody = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw", version: "1.0.0" },
  },
};
// The fast path serves a 2025-era tools/call with this header and no session.
const FAST = "Mcp-Protocol-Version: 2025-11-25";

function assertRefused(res: RawResponse | { status: number; body: string }, challenge: boolean) {
  assert.equal(res.status, 400, res.body);
  const body = JSON.parse(res.body) as { error: { code: number; message: string } };
  assert.equal(body.error.code, -32600);
  assert.match(body.error.message, /Send exactly one Authorization header/);
  if ("headers" in res && res.headers instanceof Map) {
    const header = res.headers.get("www-authenticate");
    if (challenge) assert.match(header ?? "", /^Bearer error="invalid_request"/);
    else assert.equal(header, undefined, "a server without auth sends no bearer challenge");
  }
}

describe("duplicate Authorization, with auth (dev issuer)", () => {
  let server: ToolServer;
  let url: string;
  let valid: string;
  const invalid = "Bearer not-a-valid-token";

  before(async () => {
    const issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });
    server = createToolServer({
      name: "dup-auth",
      version: "1.0.0",
      tools: [count],
      auth: issuer.verifier(),
      store: memoryStore(),
      audit: false,
      logger: silentLogger(),
    });
    url = (await server.listen({ port: 0 })).url;
    valid = `Bearer ${await issuer.mint({ sub: "alice", audience: url })}`;
  });
  after(() => server.close());

  it("one header: the fast path runs the tool (the hand-written request is sound)", async () => {
    const before = runs;
    const res = await rawPost(url, [FAST, `Authorization: ${valid}`], callBody(1));
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /"run":/);
    assert.equal(runs, before + 1);
  });

  it("one header: initialize through the SDK answers", async () => {
    const res = await rawPost(url, [`Authorization: ${valid}`], initializeBody);
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /"protocolVersion"/);
  });

  // Thunks: the valid token exists only once the server listens.
  for (const [name, pair] of [
    ["valid first", () => [valid, invalid]],
    ["invalid first", () => [invalid, valid]],
    ["the same token twice", () => [valid, valid]],
  ] as const) {
    it(`two headers (${name}): 400 on the fast path, and the tool never runs`, async () => {
      const before = runs;
      const lines = pair().map((v, i) => `${i === 0 ? "Authorization" : "authorization"}: ${v}`);
      assertRefused(await rawPost(url, [FAST, ...lines], callBody(2)), true);
      assert.equal(runs, before, "the tool did not run");
    });

    it(`two headers (${name}): 400 on the SDK path (initialize)`, async () => {
      const lines = pair().map((v) => `Authorization: ${v}`);
      assertRefused(await rawPost(url, lines, initializeBody), true);
    });
  }

  it("one merged value (fetch, proxies): 400", async () => {
    const before = runs;
    for (const authorization of [`${valid}, ${invalid}`, `${invalid},${valid}`]) {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify(callBody(3)),
      });
      const text = await res.text();
      assertRefused({ status: res.status, body: text }, true);
      assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_request"/);
    }
    // fetch itself merges two appended values into that form.
    const headers = new Headers({
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    });
    headers.append("authorization", valid);
    headers.append("authorization", invalid);
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(initializeBody) });
    assertRefused({ status: res.status, body: await res.text() }, true);
    assert.equal(runs, before, "the tool did not run");
  });
});

/** A server without auth, listening on a random port, closed after the suite. */
function openServer(sessions: boolean): { url: () => string } {
  let server: ToolServer;
  let url = "";
  before(async () => {
    server = createToolServer({
      name: "dup-open",
      version: "1.0.0",
      tools: [count],
      store: memoryStore(),
      audit: false,
      logger: silentLogger(),
      http: { sessions },
    });
    url = (await server.listen({ port: 0 })).url;
  });
  after(() => server.close());
  return { url: () => url };
}

describe("duplicate Authorization, without auth", () => {
  const server = openServer(false);

  it("ignores one Authorization header, as before", async () => {
    const before = runs;
    const res = await rawPost(server.url(), [FAST, "Authorization: Bearer whatever"], callBody(1));
    assert.equal(res.status, 200, res.body);
    assert.equal(runs, before + 1);
  });

  it("refuses two, on the fast path and on initialize, with no bearer challenge", async () => {
    const before = runs;
    const two = ["Authorization: Bearer a", "Authorization: Bearer b"];
    assertRefused(await rawPost(server.url(), [FAST, ...two], callBody(2)), false);
    assertRefused(await rawPost(server.url(), two, initializeBody), false);
    assert.equal(runs, before);
  });

  it("keeps a single credential whose parameters are comma-separated (Digest)", async () => {
    const before = runs;
    const digest = 'Authorization: Digest username="a", realm="x, y", nonce="n", uri="/mcp"';
    const res = await rawPost(server.url(), [FAST, digest], callBody(4));
    assert.equal(res.status, 200, res.body);
    assert.equal(runs, before + 1);
  });
});

describe("duplicate Authorization, in a session", () => {
  const server = openServer(true);

  it("refuses two on a request of an open session; one works", async () => {
    const init = await rawPost(server.url(), [], initializeBody);
    assert.equal(init.status, 200, init.body);
    const session = init.headers.get("mcp-session-id");
    assert.ok(session, "the server opened a session");
    const headers = [`Mcp-Session-Id: ${session}`, FAST];
    const before = runs;
    assertRefused(
      await rawPost(
        server.url(),
        [...headers, "Authorization: Bearer a", "Authorization: Bearer b"],
        callBody(3),
      ),
      false,
    );
    assert.equal(runs, before, "the tool did not run");
    const one = await rawPost(server.url(), [...headers, "Authorization: Bearer a"], callBody(4));
    assert.equal(one.status, 200, one.body);
    assert.equal(runs, before + 1);
  });
});
