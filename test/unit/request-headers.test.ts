// RequestHeaders: a node:http request's headers as a web Headers, copied only when needed.
// Whatever a stage does with it, it must see what an eager copy would have shown.
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import { RequestHeaders } from "../../src/server/request-headers.js";

// As node:http parses them: lower-case names, repeats joined, set-cookie kept as a list.
const RAW: IncomingHttpHeaders = {
  host: "127.0.0.1:3000",
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "idempotency-key": "order-42",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  "x-forwarded-for": "10.0.0.1, 10.0.0.2",
  "set-cookie": ["a=1", "b=2"],
};

function eager(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === "string") headers.append(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return headers;
}

describe("RequestHeaders", () => {
  it("is a Headers whose get and has answer as an eager copy, in any case of the name", () => {
    const lazy = new RequestHeaders(RAW);
    const copy = eager(RAW);
    assert.ok(lazy instanceof Headers);
    for (const name of [
      "Idempotency-Key",
      "idempotency-key",
      "TRACEPARENT",
      "x-forwarded-for",
      "set-cookie",
      "missing",
      "Accept",
    ]) {
      assert.equal(lazy.get(name), copy.get(name), `get(${name})`);
      assert.equal(lazy.has(name), copy.has(name), `has(${name})`);
    }
  });

  it("iterates, lists cookies and copies exactly as an eager copy", () => {
    const copy = eager(RAW);
    assert.deepEqual([...new RequestHeaders(RAW)], [...copy]);
    assert.deepEqual([...new RequestHeaders(RAW).entries()], [...copy.entries()]);
    assert.deepEqual([...new RequestHeaders(RAW).keys()], [...copy.keys()]);
    assert.deepEqual([...new RequestHeaders(RAW).values()], [...copy.values()]);
    assert.deepEqual(new RequestHeaders(RAW).getSetCookie(), ["a=1", "b=2"]);
    assert.deepEqual([...new Headers(new RequestHeaders(RAW))], [...copy]);
    const seen: string[] = [];
    new RequestHeaders(RAW).forEach((value, name) => seen.push(`${name}=${value}`));
    const expected: string[] = [];
    copy.forEach((value, name) => expected.push(`${name}=${value}`));
    assert.deepEqual(seen, expected);
  });

  it("changes on top of every request header: append, set, delete", () => {
    const lazy = new RequestHeaders(RAW);
    lazy.append("accept", "text/plain");
    assert.equal(lazy.get("accept"), "application/json, text/event-stream, text/plain");
    assert.equal(lazy.get("host"), "127.0.0.1:3000", "the others are still there");
    lazy.set("idempotency-key", "other");
    assert.equal(lazy.get("Idempotency-Key"), "other");
    lazy.delete("traceparent");
    assert.equal(lazy.has("traceparent"), false);
    const second = new RequestHeaders(RAW);
    second.delete("host");
    assert.equal(second.get("content-type"), "application/json");
    assert.equal(second.has("host"), false);
    assert.equal(RAW.host, "127.0.0.1:3000", "node's own headers are never changed");
  });

  it("refuses an invalid header name as Headers does", () => {
    assert.throws(() => new Headers().get("bad name"), TypeError);
    assert.throws(() => new RequestHeaders(RAW).get("bad name"), TypeError);
    assert.throws(() => new RequestHeaders(RAW).has("bad\nname"), TypeError);
  });
});
