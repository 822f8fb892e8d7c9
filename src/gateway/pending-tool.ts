// Calls to an upstream whose tools the gateway has not seen yet (it was down at startup,
// or its first tools/list is still being applied). `not_found` would tell the model the
// tool does not exist, and it would give up; the truth is "not yet", so such a call is
// answered `unavailable` with the upstream's retryAfterMs, before anything is counted or
// claimed. The tool is not listed meanwhile: the gateway cannot vouch for a tool the
// upstream has not offered (a lock file that pins its tools says what it offered once,
// not what it offers now). Once the upstream has listed its tools, an unknown name is
// `not_found` as usual.
import { unavailable } from "../errors/tool-error.js";
import { UNKNOWN_VERSION } from "../contract/snapshot.js";
import type { ToolDefinition } from "../tool/types.js";
import { policyFor } from "./gateway-tool.js";
import type { UpstreamRuntime } from "./upstream.js";

// MCP tool names (2025-11-25), as gateway-tool.ts publishes them.
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MIN_RETRY_MS = 100;

const waitingFor = new WeakMap<ToolDefinition, UpstreamRuntime>();

/**
 * A stand-in for `<prefix>.<name>` of an upstream that has not listed its tools, carrying
 * the policy the config gives that name (its scopes are still checked); undefined for a
 * name the policy hides or that no tool could have.
 */
export function pendingTool(
  upstream: UpstreamRuntime,
  toolName: string,
): ToolDefinition | undefined {
  const upstreamName = toolName.slice(upstream.prefix.length + 1);
  if (!TOOL_NAME.test(toolName) || upstreamName === "") return undefined;
  const policy = policyFor(upstream.options, upstreamName);
  if (policy.hidden === true) return undefined;
  const tool: ToolDefinition = Object.freeze({
    name: toolName,
    version: UNKNOWN_VERSION,
    title: undefined,
    description: "",
    scopes: Object.freeze([...(policy.scopes ?? [])]),
    sideEffect: policy.sideEffect ?? "write",
    timeoutMs: undefined,
    annotations: Object.freeze({}),
    idempotency: undefined,
    backends: new Map(),
    rateLimit: undefined,
    inputSchema: Object.freeze({ type: "object" }),
    outputSchema: undefined,
    deprecated: undefined,
    parseInput: (raw: unknown) => ({ ok: true, value: raw }) as const,
    checkOutput: undefined,
    // The guard answers first; this is the backstop if it ever did not.
    handler: () => {
      throw notYet(upstream);
    },
    ...(policy.redact && policy.redact.length > 0
      ? { redactKeys: Object.freeze([...policy.redact]) }
      : {}),
  });
  waitingFor.set(tool, upstream);
  return tool;
}

/** The upstream a stand-in waits for; undefined for a real tool. */
export function pendingUpstreamOf(tool: ToolDefinition | undefined): UpstreamRuntime | undefined {
  return tool === undefined ? undefined : waitingFor.get(tool);
}

/** `unavailable` (retryable): the upstream has not told the gateway its tools yet. */
export function notYet(upstream: UpstreamRuntime) {
  const state = upstream.state();
  const why =
    state === "ready"
      ? "has just connected and its tools are being checked"
      : "has not started or answered yet (it is down or still starting)";
  return unavailable(
    `The upstream server '${upstream.name}' ${why}, so the gateway does not know its tools yet. ` +
      "Nothing was sent; retry shortly.",
    Math.max(MIN_RETRY_MS, upstream.retryAfterMs()),
  );
}
