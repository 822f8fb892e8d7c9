// The fast path's `ctx.headers` (src/server/request-headers.ts): node's parsed headers
// read in place for get/has, a real `Headers` for everything else. Checked against a
// `Headers` filled from the same request the way the fast path used to (every header
// appended), on requests a real node:http server received.
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { requestHeaders } from "../../src/server/request-headers.js";

let port: number;
let received: (req: IncomingMessage) => void = () => undefined;
const server = createServer((req, res) => {
  received(req);
  res.end();
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise((resolve) => server.close(resolve)));

/** The request node parsed from these raw header lines. */
function receive(lines: [string, string][]): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    received = resolve;
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/mcp",
      // Raw lines, repeats kept (node adds no Host to raw lines).
      headers: [["Host", `127.0.0.1:${port}`], ...lines].flat(),
      agent: false,
    });
    req.on("error", reject);
    req.on("response", (res) => {
      res.resume();
      if (res.statusCode !== 200) reject(new Error(`the server answered ${res.statusCode}`));
    });
    req.end();
  });
}

/** What the fast path built before: every header appended to a new Headers. */
function copied(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.append(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return headers;
}

const LINES: [string, string][] = [
  ["Content-Type", "application/json"],
  ["TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
  ["Idempotency-Key", "k-1"],
  ["X-Many", "a"],
  ["X-Many", "b"],
  ["Set-Cookie", "a=1"],
  ["Set-Cookie", "b=2"],
];

describe("requestHeaders", () => {
  it("answers get and has as a copied Headers does, whatever the case of the name", async () => {
    const req = await receive(LINES);
    const lazy = requestHeaders(req);
    const full = copied(req);
    assert.ok(lazy instanceof Headers);
    for (const name of [
      "content-type",
      "TRACEPARENT",
      "idempotency-key",
      "x-many",
      "set-cookie",
      "absent",
      "host",
    ]) {
      assert.equal(lazy.get(name), full.get(name), name);
      assert.equal(lazy.has(name), full.has(name), name);
    }
  });

  it("iterates, copies and changes as a Headers", async () => {
    const req = await receive(LINES);
    const full = copied(req);
    assert.deepEqual([...requestHeaders(req)], [...full]);
    assert.deepEqual([...new Headers(requestHeaders(req))], [...full]);
    assert.deepEqual(requestHeaders(req).getSetCookie(), ["a=1", "b=2"]);
    const changed = requestHeaders(req);
    changed.set("Idempotency-Key", "k-2");
    changed.delete("traceparent");
    changed.append("x-added", "yes");
    assert.equal(changed.get("idempotency-key"), "k-2");
    assert.equal(changed.has("traceparent"), false);
    assert.equal(changed.get("x-added"), "yes");
    assert.equal(changed.get("content-type"), "application/json");
  });

  it("refuses a name that is not a header name, as Headers does", async () => {
    const req = await receive(LINES);
    assert.throws(() => requestHeaders(req).get("not a name"), TypeError);
    assert.throws(() => copied(req).get("not a name"), TypeError);
  });
});
