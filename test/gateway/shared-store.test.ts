// Several gateway instances share one PostgreSQL or Redis store: a write called 50 times
// in parallel with one key, spread over two gateways (each with its own upstream process
// appending to one ledger), reaches an upstream once; rate limits are shared too.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { type Principal } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { type IdempotencyStore } from "../../src/stores/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { postgresStore } from "../../src/stores/postgres-store.js";
import { redisStore } from "../../src/stores/redis-store.js";
import { dig } from "../helpers/json.js";
import { expectToolError } from "../helpers/server.js";
import { postgresAdmin, redisAdmin } from "../helpers/services.js";
import { plainUpstream } from "./fixtures/plain.js";

const PG_URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const REDIS_URL = process.env["TOOLGATE_TEST_REDIS_URL"];

const caller: Principal = {
  issuer: "https://issuer.test",
  subject: "shared",
  scopes: [],
  claims: {},
  anonymous: false,
};

async function twoGateways(stores: [IdempotencyStore, IdempotencyStore]) {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-gateway-shared-"));
  const gateways: Gateway[] = [];
  for (const store of stores) {
    gateways.push(
      await createGateway({
        upstreams: {
          plain: plainUpstream(dir, { tools: { echo: { rateLimit: { perPrincipal: "5/min" } } } }),
        },
        store,
        audit: false,
        logger: silentLogger(),
        pinning: { lockFile: path.join(dir, "toolgate.lock.json") },
      }),
    );
  }
  const ledgerFile = path.join(dir, "ledger.jsonl");
  return {
    gateways,
    ledger: () =>
      existsSync(ledgerFile) ? readFileSync(ledgerFile, "utf8").split("\n").filter(Boolean) : [],
    close: async () => {
      await Promise.all(gateways.map((g) => g.close()));
      // Stores passed in belong to the caller: the gateway leaves them open.
      await Promise.all(stores.map((store) => store.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function sharedBehaviour(stores: [IdempotencyStore, IdempotencyStore]) {
  const { gateways, ledger, close } = await twoGateways(stores);
  try {
    const key = `shared-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gateways[i % 2]!.callTool(
          "plain.record_payment",
          { amount: 21, idempotency_key: key },
          { principal: caller },
        ),
      ),
    );
    assert.equal(ledger().length, 1, "one execution across both gateways");
    for (const result of results) {
      if (result.isError) expectToolError(result, "in_progress");
      else assert.equal(dig(result, "structuredContent", "recorded"), 21);
    }
    // The budget of 5 per minute is one budget for both instances.
    const reads = [];
    for (let i = 0; i < 8; i++)
      reads.push(
        await gateways[i % 2]!.callTool("plain.echo", { message: "x" }, { principal: caller }),
      );
    assert.equal(reads.filter((r) => !r.isError).length, 5);
    expectToolError(reads[7], "rate_limited");
  } finally {
    await close();
  }
}

describe("gateways sharing a store", () => {
  it(
    "PostgreSQL: two gateways, one execution and one budget",
    {
      skip: PG_URL
        ? false
        : "TOOLGATE_TEST_POSTGRES_URL is unset: set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable",
    },
    async () => {
      const admin = await postgresAdmin(PG_URL!);
      const table = `toolgate_gw_${process.pid}_${randomUUID().slice(0, 8)}`;
      after(async () => {
        await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_rate_limits"`);
        await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
        await admin.end();
      });
      await sharedBehaviour([
        postgresStore({ connectionString: PG_URL! }, { table }),
        postgresStore({ connectionString: PG_URL! }, { table }),
      ]);
    },
  );

  it(
    "Redis: two gateways, one execution and one budget",
    {
      skip: REDIS_URL
        ? false
        : "TOOLGATE_TEST_REDIS_URL is unset: set TOOLGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to enable",
    },
    async () => {
      const admin = await redisAdmin(REDIS_URL!);
      const keyPrefix = `toolgate:gw:${randomUUID().slice(0, 8)}:`;
      after(async () => {
        const keys = await admin.keys(`${keyPrefix}*`);
        if (keys.length > 0) await admin.del(...keys);
        admin.disconnect();
      });
      await sharedBehaviour([
        redisStore({ url: REDIS_URL! }, { keyPrefix }),
        redisStore({ url: REDIS_URL! }, { keyPrefix }),
      ]);
    },
  );
});
