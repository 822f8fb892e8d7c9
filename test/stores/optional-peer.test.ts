import assert from "node:assert/strict";
import { it } from "node:test";
import { importPeer } from "../../src/stores/optional-peer.js";

it("a missing optional peer dependency names the npm install that fixes it", async () => {
  const missing = "toolgate-test-no-such-package";
  await assert.rejects(
    importPeer(missing, "the redis idempotency store", () => import(missing)),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(
        err.message,
        /redis idempotency store needs .*npm install toolgate-test-no-such-package/,
      );
      return true;
    },
  );
});

it("other load failures pass through unchanged", async () => {
  const boom = new Error("boom");
  await assert.rejects(
    importPeer("x", "the sqlite idempotency store", () => Promise.reject(boom)),
    boom,
  );
});
