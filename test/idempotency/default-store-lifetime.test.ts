// The stages own the default store's lifetime: each stage built without a store takes a
// hold on the process's one SQLite handle on first use and gives it back when the server
// running it closes; the last holder closes the file. A store the user passed in is never
// closed by toolgate. Real SQLite in the run's TOOLGATE_DATA_DIR (set by the test runner).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { defaultStages } from "../../src/pipeline/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import { leaseDefaultStore } from "../../src/stores/default-store.js";
import { sqliteStore, StoreUnavailable, type ToolgateStore } from "../../src/stores/index.js";
import { stageProvides } from "../../src/pipeline/stage-roles.js";
import type { Stage } from "../../src/pipeline/types.js";

const log = silentLogger();
const pay = defineTool({
  name: "pay",
  version: "1.0.0",
  description: "Pays; changes state.",
  input: z.object({ amount: z.number() }),
  scopes: [],
  sideEffect: "write",
  handler: ({ amount }) => ({ paid: amount }),
});
const server = (extra: { stages?: Stage[]; store?: ToolgateStore } = {}) =>
  createToolServer({
    name: "lifetime",
    version: "1.0.0",
    tools: [pay],
    logger: log,
    audit: false,
    ...extra,
  });
const key = () => `k-${Date.now()}-${Math.random()}`;
const call = (s: ReturnType<typeof server>) =>
  s.callTool("pay", { amount: 1, [IDEMPOTENCY_ARGUMENT]: key() });
/** A store that is still open answers a claim; a closed one refuses it. */
const works = (store: ToolgateStore) =>
  store
    .claim({
      scope: key(),
      fingerprint: "f",
      ownerToken: "o",
      now: Date.now(),
      leaseMs: 1000,
      retentionMs: 1000,
    })
    .then(
      () => true,
      (error: unknown) => {
        if (error instanceof StoreUnavailable) return false;
        throw error;
      },
    );

/** The default store this process has open now (a hold taken and given back at once). */
async function currentDefault(): Promise<ToolgateStore> {
  const lease = leaseDefaultStore();
  const store = await lease.open(log);
  await lease.release();
  return store;
}

describe("the default store's lifetime", () => {
  test("a server with the default list closes the default store on close", async () => {
    const s = server();
    assert.equal((await call(s)).isError, undefined);
    const held = leaseDefaultStore();
    const store = await held.open(log); // the server's handle, shared
    assert.equal(await works(store), true);
    await s.close();
    assert.equal(await works(store), true, "still held by this test's lease");
    await held.release();
    assert.equal(await works(store), false, "the last holder closed it");
    // A later user opens it again.
    const again = server();
    assert.equal((await call(again)).isError, undefined);
    await again.close();
  });

  test("two servers share it: closing one leaves the other working", async () => {
    const [a, b] = [server(), server()];
    await Promise.all([call(a), call(b)]);
    const store = await currentDefault();
    await a.close();
    assert.equal(await works(store), true);
    assert.equal((await call(b)).isError, undefined, "the other server still writes");
    await b.close();
    assert.equal(await works(store), false);
  });

  test("a custom list built from defaultStages() is released by the server", async () => {
    const stages = defaultStages();
    const s = server({ stages });
    await call(s);
    const idem = stages.find((stage) => stageProvides(stage)?.role === "idempotency")!;
    const store = (await stageProvides(idem)!.openedStore!()) as ToolgateStore;
    assert.equal(store, await currentDefault());
    await s.close();
    assert.equal(await works(store), false);
    await s.close(); // closing twice releases nothing twice
  });
});

describe("a store the user passed in", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-own-store-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("is never closed by the server, with the default list or defaultStages({ store })", async () => {
    const store = sqliteStore({ path: path.join(dir, "mine.sqlite") });
    const plain = server({ store });
    const listed = server({ stages: defaultStages({ store }) });
    await Promise.all([call(plain), call(listed)]);
    await Promise.all([plain.close(), listed.close()]);
    assert.equal(await works(store), true);
    await store.close();
  });
});
