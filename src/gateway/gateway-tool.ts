// An upstream's tools/list entry plus the gateway's policy for it, as a toolgate tool:
// the same ToolDefinition the library's defineTool builds, so every stage (auth, rate
// limits, validation, idempotency, deadlines, audit) runs unchanged. The one difference:
// the input schema is the upstream's own, validated as published (not closed against
// unknown properties, which defineTool does for tools it owns), because the upstream, not
// the gateway, decides what it accepts.
import type { Tool } from "@modelcontextprotocol/client";
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import { IDEMPOTENCY_ARGUMENT } from "../tool/idempotency-options.js";
import { addKeyArgument, resolveIdempotency } from "../tool/idempotency-options.js";
import { resolveRateLimits } from "../tool/rate-limit-options.js";
import type { ToolContext, ToolDefinition, SideEffect } from "../tool/types.js";
import { deepFreeze } from "../util/deep-freeze.js";
import { isRecord } from "../util/is-record.js";
import type { JsonSchema } from "../validation/json-schema.js";
import { compileValidator, type ValidationOutcome } from "../validation/validator.js";
import type { ToolPolicy, UpstreamOptions } from "./options.js";

// MCP tool names (2025-11-25): what the gateway can publish as `<prefix>.<name>`.
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface GatewayToolInput {
  readonly prefix: string;
  readonly entry: Tool;
  readonly policy: ToolPolicy;
  /** Deadline when the policy sets none (the upstream's timeoutMs). */
  readonly timeoutMs: number | undefined;
  readonly handler: (args: unknown, ctx: ToolContext) => unknown;
  /** The version recorded for the tool (toolgate upstreams publish one in _meta). */
  readonly version: string;
}

export type GatewayToolOutcome =
  | { readonly ok: true; readonly tool: ToolDefinition }
  | { readonly ok: false; readonly reason: string };

/** The published name of an upstream tool. */
export function publishedName(prefix: string, upstreamName: string): string {
  return `${prefix}.${upstreamName}`;
}

export function buildGatewayTool(input: GatewayToolInput): GatewayToolOutcome {
  const { entry, policy } = input;
  const name = publishedName(input.prefix, entry.name);
  if (!TOOL_NAME.test(name)) {
    return {
      ok: false,
      reason: `'${name}' is not a valid MCP tool name (1-128 letters, digits, '_', '-', '.')`,
    };
  }
  const where = `Gateway tool '${name}'`;
  const annotations: ToolAnnotations = isRecord(entry.annotations) ? entry.annotations : {};
  // The upstream's hint can only make a tool stricter: without readOnlyHint it is a write.
  const sideEffect: SideEffect =
    policy.sideEffect ?? (annotations.readOnlyHint === true ? "read" : "write");
  try {
    const idempotency = resolveIdempotency(undefined, sideEffect, where);
    const inputSchema = structuredClone(
      isRecord(entry.inputSchema) ? entry.inputSchema : { type: "object" },
    ) as JsonSchema;
    // A toolgate upstream publishes its own key argument: the gateway's takes its place, and
    // the upstream gets the derived key in _meta instead.
    dropProperty(inputSchema, IDEMPOTENCY_ARGUMENT);
    const validationSchema = idempotency?.argument
      ? addKeyArgument(inputSchema, where, idempotency)
      : inputSchema;
    const validator = compileValidator(validationSchema, `${where}: input`);
    const keyArgument = idempotency?.argument === true;
    // Ajv writes defaults into what it validates, and the key argument is deleted from
    // it: only then does a call need its own copy of the arguments (a clone per call
    // was most of a forwarded read's input check).
    const copies = keyArgument || JSON.stringify(validationSchema).includes('"default"');
    const rateLimit = resolveRateLimits(policy.rateLimit, `${where}: rateLimit`);
    const outputSchema = isRecord(entry.outputSchema) ? entry.outputSchema : undefined;
    const title = entry.title ?? annotations.title;
    const published: ToolAnnotations = { ...annotations, readOnlyHint: sideEffect === "read" };
    if (sideEffect === "write") {
      published.destructiveHint ??= true;
      // Forwarded at most once per key: a retry with the same key is harmless.
      published.idempotentHint = true;
    }
    const tool: ToolDefinition = Object.freeze({
      name,
      version: input.version,
      title,
      description: policy.description ?? entry.description ?? "",
      scopes: Object.freeze([...(policy.scopes ?? [])]),
      sideEffect,
      timeoutMs: policy.timeoutMs ?? input.timeoutMs,
      annotations: Object.freeze(published),
      idempotency,
      backends: new Map(),
      rateLimit,
      inputSchema: deepFreeze(inputSchema),
      outputSchema: outputSchema ? deepFreeze(structuredClone(outputSchema)) : undefined,
      deprecated: undefined,
      parseInput: (raw: unknown) => parseInput(raw, validator.validate, keyArgument, copies),
      // The upstream owns its results: they pass through as it sent them.
      checkOutput: undefined,
      handler: input.handler,
      ...(policy.redact && policy.redact.length > 0
        ? { redactKeys: Object.freeze([...policy.redact]) }
        : {}),
    });
    return { ok: true, tool };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function dropProperty(schema: JsonSchema, key: string): void {
  const properties = schema["properties"];
  if (isRecord(properties)) delete properties[key];
  const required = schema["required"];
  if (Array.isArray(required)) schema["required"] = required.filter((name) => name !== key);
}

function parseInput(
  raw: unknown,
  validate: (value: unknown) => ValidationOutcome<unknown>,
  keyArgument: boolean,
  copies: boolean,
): ValidationOutcome<unknown> {
  // A copy when the check writes into it (defaults, the key argument): the raw arguments
  // stay as sent, for the audit log.
  const checked = validate(copies ? structuredClone(raw ?? {}) : (raw ?? {}));
  if (checked.ok && keyArgument && isRecord(checked.value)) {
    delete checked.value[IDEMPOTENCY_ARGUMENT];
  }
  return checked;
}

/** A tool's policy: its own entry over the upstream's defaults. */
export function policyFor(upstream: UpstreamOptions, toolName: string): ToolPolicy {
  const own =
    upstream.tools && Object.hasOwn(upstream.tools, toolName)
      ? upstream.tools[toolName]
      : undefined;
  return { ...upstream.defaults, ...own };
}
