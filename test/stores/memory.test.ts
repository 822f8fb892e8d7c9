import { memoryStore } from "../../src/stores/memory-store.js";
import { describeStoreContract } from "./store-contract.js";

describeStoreContract("memory", () => {
  const store = memoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
