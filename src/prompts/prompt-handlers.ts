// The prompts/* request handlers of one serving unit (one SDK `Server`).
import {
  ProtocolError,
  ProtocolErrorCode,
  specTypeSchemas,
  type GetPromptResult,
  type Server,
} from "@modelcontextprotocol/server";
import {
  assertAllowed,
  internalError,
  isVisible,
  runGuarded,
  type ServingDeps,
} from "../resources/serving.js";
import type { PromptDefinition, PromptMessages } from "./define-prompt.js";
import type { PromptRegistry } from "./prompt-registry.js";

/** Registers prompts/list and prompts/get. */
export function registerPromptHandlers(
  server: Server,
  registry: PromptRegistry,
  deps: ServingDeps,
): void {
  server.setRequestHandler("prompts/list", (_request, sdkCtx) => {
    const principal = deps.principalOf(sdkCtx);
    return {
      prompts: registry.prompts
        .filter((p) => isVisible(deps, principal, p.scopes))
        .map((p) => p.listing),
    };
  });

  server.setRequestHandler("prompts/get", async (request, sdkCtx): Promise<GetPromptResult> => {
    const { name } = request.params;
    const prompt = registry.get(name);
    // The spec's error for an invalid prompt name: Invalid Params (-32602).
    if (!prompt)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt '${name}'.`);
    const principal = deps.principalOf(sdkCtx);
    const what = `Prompt '${prompt.name}'`;
    assertAllowed(deps, principal, prompt.scopes, what);
    const parsed = prompt.parseArgs(request.params.arguments);
    if (!parsed.ok) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        parsed.message,
        parsed.issues ? { issues: parsed.issues } : undefined,
      );
    }
    const log = deps.log.child({ prompt: prompt.name });
    const value = await runGuarded(
      (signal) => prompt.get(parsed.value, { name: prompt.name, signal, principal, log }),
      {
        signal: sdkCtx.mcpReq.signal,
        timeoutMs: prompt.timeoutMs ?? deps.defaultTimeoutMs,
        log,
        what,
        notFound: (message) => new ProtocolError(ProtocolErrorCode.InvalidParams, message),
      },
    );
    const result = toResult(value, prompt);
    // A malformed message is a bug in the prompt: logged with its issues, answered as internal.
    const checked = specTypeSchemas.GetPromptResult["~standard"].validate(result);
    if (checked.issues !== undefined) {
      const issues = checked.issues.map((issue) => ({
        path: (issue.path ?? [])
          .map((p) => (typeof p === "object" ? String(p.key) : String(p)))
          .join("."),
        message: issue.message,
      }));
      throw internalError(
        log,
        what,
        new TypeError(`get returned invalid messages: ${JSON.stringify(issues)}`),
      );
    }
    return result;
  });
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
  // Checked by the caller: an empty messages list of the wrong shape fails validation.
  return { messages: value as PromptMessages };
}
