// A tool's contract, taken from its definition (in-process) or from its tools/list entry
// (any MCP server). Both give the same contract for a toolgate tool, so a lock written
// from the module and one written from the running server agree.
import type { JsonSchema } from "../validation/json-schema.js";
import type { ToolDefinition } from "../tool/types.js";
import type { ContractLock, Deprecation, ToolContract } from "./types.js";
import { isRecord } from "../util/is-record.js";

/** The version recorded for tools of servers that publish none (not toolgate). */
export const UNKNOWN_VERSION = "0.0.0";

/** The contract of a defined tool: what its tools/list entry publishes. */
export function contractOf(tool: ToolDefinition): ToolContract {
  return jsonClean({
    name: tool.name,
    version: tool.version,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    description: tool.description,
    inputSchema: tool.inputSchema,
    ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema }),
    annotations: { ...tool.annotations },
    scopes: [...tool.scopes],
    sideEffect: tool.sideEffect,
    ...(tool.deprecated === undefined ? {} : { deprecated: tool.deprecated }),
  });
}

/** A tools/list entry as it arrives: only `name` can be relied on. */
export interface ListedTool {
  readonly name: string;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: unknown;
  readonly _meta?: unknown;
}

/**
 * The contract of a tools/list entry. toolgate servers publish version, scopes, side
 * effect and deprecation under `_meta["toolgate/..."]`; for other servers the version is
 * "0.0.0", scopes are [] and the side effect follows `annotations.readOnlyHint`.
 */
export function contractFromListing(entry: ListedTool): ToolContract {
  if (typeof entry !== "object" || entry === null || typeof entry.name !== "string") {
    throw new TypeError("a tools/list entry must be an object with a name.");
  }
  const meta = isRecord(entry._meta) ? entry._meta : {};
  const annotations = isRecord(entry.annotations) ? entry.annotations : {};
  const version = meta["toolgate/version"];
  const scopes = meta["toolgate/scopes"];
  const sideEffect = meta["toolgate/sideEffect"];
  const deprecated = toDeprecation(meta["toolgate/deprecated"]);
  return jsonClean({
    name: entry.name,
    version: typeof version === "string" && version !== "" ? version : UNKNOWN_VERSION,
    ...(typeof entry.title === "string" ? { title: entry.title } : {}),
    description: typeof entry.description === "string" ? entry.description : "",
    inputSchema: isRecord(entry.inputSchema) ? (entry.inputSchema as JsonSchema) : {},
    ...(isRecord(entry.outputSchema) ? { outputSchema: entry.outputSchema } : {}),
    annotations,
    scopes: Array.isArray(scopes) && scopes.every((s) => typeof s === "string") ? scopes : [],
    sideEffect:
      sideEffect === "read" || sideEffect === "write"
        ? sideEffect
        : annotations["readOnlyHint"] === true
          ? "read"
          : "write",
    ...(deprecated === undefined ? {} : { deprecated }),
  });
}

/** The lock of these contracts, keyed by tool name. */
export function lockOf(contracts: readonly ToolContract[]): ContractLock {
  const tools: Record<string, ToolContract> = {};
  for (const contract of contracts) {
    if (Object.hasOwn(tools, contract.name)) {
      throw new Error(`two tools are named '${contract.name}'; tool names must be unique.`);
    }
    tools[contract.name] = contract;
  }
  return { lockfileVersion: 1, tools };
}

function toDeprecation(value: unknown): Deprecation | undefined {
  if (!isRecord(value) || typeof value["since"] !== "string") return undefined;
  const { since, useInstead, removeAfter } = value;
  return {
    since,
    ...(typeof useInstead === "string" ? { useInstead } : {}),
    ...(typeof removeAfter === "string" ? { removeAfter } : {}),
  };
}

/**
 * A plain, unfrozen JSON copy: what the contract looks like on the wire and in the lock
 * (no undefined members, no frozen objects shared with the tool).
 */
function jsonClean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
