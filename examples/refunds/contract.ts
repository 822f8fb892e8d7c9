// The demo's tools for `toolgate contract`: the CLI imports this module and reads their
// contracts (no server is started, nothing listens). The lock next to it,
// toolgate.lock.json, is what reviewers approved; `npm test` checks the tools against it.
//
//   npx toolgate contract check --module examples/refunds/contract.ts \
//     --lock examples/refunds/toolgate.lock.json
//
// An in-memory database: the contracts do not depend on the data.
import { openRefundsDb } from "./db.js";
import { createRefundTools } from "./tools.js";

export const tools = createRefundTools({ db: openRefundsDb(":memory:") });
