// The operation behind prompts/get of one prompt: what the pipeline's stages run
// (src/tool/operation.ts), made once per definition.
import { specTypeSchemas, type GetPromptResult } from "@modelcontextprotocol/server";
import { defineOperation, thenMap } from "../tool/operation.js";
import type { ToolDefinition } from "../tool/types.js";
import type { PromptContext, PromptDefinition, PromptMessages } from "./define-prompt.js";

const OPERATIONS = new WeakMap<PromptDefinition, ToolDefinition>();

/**
 * The operation getting `prompt`, named "prompt:<name>" (the audit event's `tool`; never a
 * tool's name, which has no ':'). Its arguments are the prompt's, checked by validateInput
 * with the prompt's own parser and words.
 */
export function promptOperation(prompt: PromptDefinition): ToolDefinition {
  let operation = OPERATIONS.get(prompt);
  if (!operation) OPERATIONS.set(prompt, (operation = build(prompt)));
  return operation;
}

function build(prompt: PromptDefinition): ToolDefinition {
  return defineOperation({
    name: `prompt:${prompt.name}`,
    scopes: prompt.scopes,
    timeoutMs: prompt.timeoutMs,
    parseInput(raw) {
      const parsed = prompt.parseArgs(raw as Record<string, string> | undefined);
      if (parsed.ok) return parsed;
      // Each issue keeps `argument` (what prompts/get errors have always carried) next to
      // the contract's JSON Pointer `path`.
      const issues = (parsed.issues ?? []).map((issue) => {
        const { argument, message } = issue as { argument: string; message: string };
        return { path: `/${argument}`, message, argument };
      });
      return { ok: false, issues, message: parsed.message };
    },
    run(args, ctx) {
      const getCtx: PromptContext = {
        name: prompt.name,
        principal: ctx.principal,
        log: ctx.log,
        get signal() {
          return ctx.signal;
        },
      };
      return thenMap(prompt.get(args, getCtx), (value) => checked(toResult(value, prompt)));
    },
  });
}

/** A malformed message is a bug in the prompt: thrown with its issues, answered as internal. */
function checked(result: GetPromptResult): Record<string, unknown> {
  const outcome = specTypeSchemas.GetPromptResult["~standard"].validate(result);
  if (outcome instanceof Promise) throw new TypeError("the prompt result schema is asynchronous");
  if (outcome.issues !== undefined) {
    const issues = outcome.issues.map((issue) => ({
      path: (issue.path ?? [])
        .map((p) => (typeof p === "object" ? String(p.key) : String(p)))
        .join("."),
      message: issue.message,
    }));
    throw new TypeError(`get returned invalid messages: ${JSON.stringify(issues)}`);
  }
  return result;
}

function toResult(value: unknown, prompt: PromptDefinition): GetPromptResult {
  const description = prompt.description;
  if (typeof value === "string") {
    return {
      ...(description === undefined ? {} : { description }),
      messages: [{ role: "user", content: { type: "text", text: value } }],
    };
  }
  if (Array.isArray(value)) {
    return {
      ...(description === undefined ? {} : { description }),
      messages: value as PromptMessages,
    };
  }
  if (typeof value === "object" && value !== null && "messages" in value) {
    const given = value as { description?: unknown; messages: unknown };
    const own = typeof given.description === "string" ? given.description : description;
    return {
      ...(own === undefined ? {} : { description: own }),
      messages: given.messages as PromptMessages,
    };
  }
  // Checked after: an empty messages list of the wrong shape fails validation.
  return { messages: value as PromptMessages };
}
