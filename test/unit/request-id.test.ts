import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requestIdV7 } from "../../src/util/request-id.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("requestIdV7", () => {
  it("is an RFC 9562 version 7 UUID whose first 48 bits are the time in ms", () => {
    const at = Date.UTC(2026, 10, 24, 8, 30);
    const id = requestIdV7(at);
    assert.match(id, V7);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  });

  it("sorts chronologically and is unique within one millisecond", () => {
    const ids = [0, 1, 2, 255, 256, 65_536].map((ms) => requestIdV7(1_700_000_000_000 + ms));
    assert.deepEqual([...ids].sort(), ids);
    const same = new Set(Array.from({ length: 10_000 }, () => requestIdV7(42)));
    assert.equal(same.size, 10_000);
    for (const id of same) assert.match(id, V7);
  });
});
