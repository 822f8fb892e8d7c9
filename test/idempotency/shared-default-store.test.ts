// Stages built without a store (`defaultStages()`, `idempotency()`, `rateLimit()`) open the
// SQLite default store themselves, on first use. Building the stages twice (the README's
// recipe calls defaultStages() twice) must not open two handles on one file, and two
// servers of one process running such stages see the same records.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { defaultStages } from "../../src/pipeline/index.js";
import { IDEMPOTENCY_ARGUMENT, REPLAY_META_KEY } from "../../src/client/index.js";
import { leaseDefaultStore } from "../../src/stores/default-store.js";

test("one default store per file per process, however often it is asked for", async () => {
  const log = silentLogger();
  const [first, second] = [leaseDefaultStore(), leaseDefaultStore()];
  const [a, b] = await Promise.all([first.open(log), second.open(log)]);
  assert.equal(a, b);
  assert.equal(await first.open(log), a);
  await Promise.all([first.release(), second.release()]);
});

test("two servers running defaultStages() share the records: the second replays", async () => {
  let runs = 0;
  const pay = defineTool({
    name: "pay",
    version: "1.0.0",
    description: "Pays; changes state.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    handler: ({ amount }) => ({ paid: amount, run: ++runs }),
  });
  const make = () =>
    createToolServer({
      name: "shared",
      version: "1.0.0",
      tools: [pay],
      logger: silentLogger(),
      audit: false,
      stages: defaultStages(),
    });
  const [first, second] = [make(), make()];
  const args = { amount: 3, [IDEMPOTENCY_ARGUMENT]: `shared-${Date.now()}-${Math.random()}` };
  const ran = await first.callTool("pay", args);
  const replayed = await second.callTool("pay", args);
  assert.equal(runs, 1);
  assert.deepEqual(replayed.structuredContent, ran.structuredContent);
  assert.equal(replayed._meta?.[REPLAY_META_KEY], true);
  await Promise.all([first.close(), second.close()]);
});
