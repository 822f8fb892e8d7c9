// Plan lines 4, 7 and 8 of idempotency.md with three toolgate processes sharing one SQLite
// file (WAL): the embedded default store is meant to be safe for several processes on a host.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sqliteStore } from "../../src/stores/sqlite-store.js";
import { describeMultiprocess } from "./fixtures/multiprocess-suite.js";

describeMultiprocess(
  "sqlite",
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), "toolgate-mp-sqlite-store-"));
    const file = path.join(dir, "idempotency.sqlite");
    const inspector = sqliteStore({ path: file });
    return Promise.resolve({
      env: { STORE: "sqlite", SQLITE_PATH: file },
      inspector,
      cleanup: async () => {
        await inspector.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
  { skip: false },
);
