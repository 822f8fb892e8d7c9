import type { Tool } from "@modelcontextprotocol/server";
import type { ToolDefinition } from "../tool/types.js";

/** The tools of one server, by name, with their `tools/list` entries built once. */
export interface ToolRegistry {
  readonly tools: readonly ToolDefinition[];
  readonly get: (name: string) => ToolDefinition | undefined;
  /** `tools/list` entries, in definition order (without deprecated tools if so asked). */
  readonly listing: readonly Tool[];
}

export interface ToolRegistryOptions {
  /** List deprecated tools in tools/list (default true). Unlisted, they stay callable. */
  listDeprecated?: boolean | undefined;
}

export function createToolRegistry(
  tools: readonly ToolDefinition[],
  options: ToolRegistryOptions = {},
): ToolRegistry {
  const given: unknown = tools;
  if (!Array.isArray(given))
    throw new TypeError("tools must be an array of defineTool(...) results.");
  const byName = new Map<string, ToolDefinition>();
  for (const [i, candidate] of (given as unknown[]).entries()) {
    if (typeof candidate !== "object" || candidate === null || !("parseInput" in candidate)) {
      throw new TypeError(`tools[${i}] is not a tool; build it with defineTool(...).`);
    }
    const tool = candidate as ToolDefinition;
    if (byName.has(tool.name))
      throw new TypeError(`Two tools are named '${tool.name}'; tool names must be unique.`);
    byName.set(tool.name, tool);
  }
  const listDeprecated = options.listDeprecated ?? true;
  const listing = tools
    .filter((tool) => listDeprecated || tool.deprecated === undefined)
    .map(toListEntry);
  return { tools: [...tools], get: (name) => byName.get(name), listing };
}

/** The `tools/list` entry of one tool (its published contract). */
export function toListEntry(tool: ToolDefinition): Tool {
  const entry: Tool = {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema as Tool["inputSchema"],
    annotations: { ...tool.annotations },
    // The contract facts a client kit or gateway needs, under toolgate's own prefix.
    _meta: {
      "toolgate/version": tool.version,
      "toolgate/scopes": [...tool.scopes],
      "toolgate/sideEffect": tool.sideEffect,
      // _meta only: the SDK's ToolAnnotations schema strips keys it does not know.
      ...(tool.deprecated ? { "toolgate/deprecated": { ...tool.deprecated } } : {}),
    },
  };
  if (tool.title !== undefined) entry.title = tool.title;
  if (tool.outputSchema !== undefined) entry.outputSchema = tool.outputSchema;
  return entry;
}
