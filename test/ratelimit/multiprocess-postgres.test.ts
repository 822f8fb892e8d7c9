// Rate limits shared by two toolgate processes through one PostgreSQL table (the store's
// upsert decides each call atomically on the bucket's row).
import { randomUUID } from "node:crypto";
import { postgresAdmin } from "../helpers/services.js";
import { describeRateLimitMultiprocess } from "./fixtures/multiprocess.js";

const URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const SKIP = URL
  ? false
  : "TOOLGATE_TEST_POSTGRES_URL is unset: set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable";

describeRateLimitMultiprocess(
  "postgres",
  async () => {
    // Fails (not skips) when the variable is set but PostgreSQL does not answer.
    const admin = await postgresAdmin(URL!);
    const table = `toolgate_rl_mp_${process.pid}_${randomUUID().slice(0, 8)}`;
    return {
      env: { STORE: "postgres", POSTGRES_URL: URL!, POSTGRES_TABLE: table },
      cleanup: async () => {
        await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_rate_limits"`);
        await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
        await admin.end();
      },
    };
  },
  { skip: SKIP },
);
