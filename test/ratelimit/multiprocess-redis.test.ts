// Rate limits shared by two toolgate processes through one Redis (the store's Lua script
// decides each call atomically).
import { randomUUID } from "node:crypto";
import { redisAdmin } from "../helpers/services.js";
import { describeRateLimitMultiprocess } from "./fixtures/multiprocess.js";

const URL = process.env["TOOLGATE_TEST_REDIS_URL"];
const SKIP = URL
  ? false
  : "TOOLGATE_TEST_REDIS_URL is unset: set TOOLGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to enable";

describeRateLimitMultiprocess(
  "redis",
  async () => {
    // Fails (not skips) when the variable is set but Redis does not answer.
    const admin = await redisAdmin(URL!);
    await admin.quit();
    const keyPrefix = `toolgate:test:rl-mp:${process.pid}:${randomUUID()}:`;
    return {
      env: { STORE: "redis", REDIS_URL: URL!, REDIS_PREFIX: keyPrefix },
      cleanup: async () => {
        const cleaner = await redisAdmin(URL!);
        let cursor = "0";
        do {
          const [next, keys] = await cleaner.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
          if (keys.length > 0) await cleaner.del(...keys);
          cursor = next;
        } while (cursor !== "0");
        await cleaner.quit();
      },
    };
  },
  { skip: SKIP },
);
