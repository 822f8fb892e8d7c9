import { memoryStore } from "../../src/stores/memory-store.js";
import { describeRateLimitContract } from "./rate-limit-contract.js";
import { describeStoreContract } from "./store-contract.js";

const factory = () => {
  const store = memoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
};

describeStoreContract("memory", factory);
describeRateLimitContract("memory", factory);
