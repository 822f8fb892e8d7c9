// `toolgate/contract`: tool contracts and lock files: snapshot a server's tools
// (contractOf, lockOf), read and write toolgate.lock.json, and diff locks and schemas
// (what `toolgate contract` runs).
export { contractOf, lockOf } from "./snapshot.js";
export { diffLocks } from "./diff.js";
export { diffSchemas } from "./schema-diff.js";
export type { SchemaChange, SchemaDiffOptions, SchemaDirection } from "./schema-diff.js";
export { DEFAULT_LOCK_FILE, formatLock, readLock } from "./lock-file.js";
export type {
  ChangeKind,
  ContractChange,
  ContractLock,
  ContractReport,
  Deprecation,
  ToolContract,
} from "./types.js";
