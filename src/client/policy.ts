// How the kit treats one tool, read from its `tools/list` entry: whether each operation
// gets an idempotency key, where the key goes, and whether repeating an attempt is safe.
import type { Tool } from "@modelcontextprotocol/client";
import { IDEMPOTENCY_ARGUMENT } from "../tool/idempotency-options.js";
import { isRecord } from "../util/is-record.js";

/** How the kit treats one tool, from its `tools/list` entry. */
export interface ToolCallPolicy {
  name: string;
  /**
   * The tool is in the server's `tools/list`. An unlisted tool is called as a write whose
   * key the server is not known to honour: a key only when the caller names the operation
   * (`operationId`), and no retry after a failure that may have been applied.
   */
  listed: boolean;
  /** The listing says it is a toolgate tool (`_meta["toolgate/sideEffect"]`). */
  toolgate: boolean;
  /** `readOnlyHint: true` (toolgate: `sideEffect: "read"`): no key, retried freely. */
  readOnly: boolean;
  /** Each operation gets an idempotency key in `_meta["toolgate/idempotency-key"]`. */
  sendsKey: boolean;
  /** The key also goes in the `idempotency_key` argument (another server whose schema asks for it). */
  keyArgument: boolean;
  /**
   * Repeating an attempt cannot apply the operation twice: read-only, or a key the
   * server honours (a toolgate write tool with idempotency, a schema with
   * `idempotency_key`). Only these calls are retried after a failure that may have
   * been applied (a reset connection, a timeout, HTTP 5xx, a retryable error).
   */
  retrySafe: boolean;
  tool?: Tool;
}

/** The policy of a listed tool (see `ToolCallPolicy`). */
export function policyFrom(
  tool: Tool,
  options: { trustIdempotentHint?: boolean | undefined } = {},
): ToolCallPolicy {
  const meta = isRecord(tool._meta) ? tool._meta : {};
  const sideEffect = meta["toolgate/sideEffect"];
  const toolgate = sideEffect === "read" || sideEffect === "write";
  const readOnly = toolgate ? sideEffect === "read" : tool.annotations?.readOnlyHint === true;
  const properties: unknown = tool.inputSchema.properties;
  const schemaAsksForKey = isRecord(properties) && IDEMPOTENCY_ARGUMENT in properties;
  const idempotentHint = tool.annotations?.idempotentHint === true;
  // toolgate reads the key from _meta (first in its precedence), so it never needs the
  // argument; another server that publishes `idempotency_key` gets it as an argument.
  const keyArgument = !readOnly && !toolgate && schemaAsksForKey;
  // toolgate annotates every write tool that takes idempotency keys `idempotentHint: true`.
  const honoured = toolgate ? idempotentHint : keyArgument;
  const trustedHint = !toolgate && options.trustIdempotentHint === true && idempotentHint;
  return {
    name: tool.name,
    listed: true,
    toolgate,
    readOnly,
    sendsKey: !readOnly,
    keyArgument,
    retrySafe: readOnly || honoured || trustedHint,
    tool,
  };
}

/** A tool the listing does not name (or a server that cannot list). */
export function unlisted(name: string): ToolCallPolicy {
  return {
    name,
    listed: false,
    toolgate: false,
    readOnly: false,
    sendsKey: false,
    keyArgument: false,
    retrySafe: false,
  };
}
