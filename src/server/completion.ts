// completion/complete: suggestions for a prompt's arguments (`ref/prompt`) and a resource
// template's variables (`ref/resource`), from the `complete` functions of their definitions.
// https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion
import {
  ProtocolError,
  ProtocolErrorCode,
  type CompleteResult,
  type Server,
} from "@modelcontextprotocol/server";
import { completionResult, type Completer } from "../completion/completer.js";
import type { PromptRegistry } from "../prompts/prompt-registry.js";
import type { ResourceRegistry } from "../resources/resource-registry.js";
import {
  assertAllowed,
  internalError,
  runGuarded,
  type ServingDeps,
} from "../resources/serving.js";

const EMPTY: CompleteResult = { completion: { values: [], total: 0, hasMore: false } };

export { MAX_COMPLETION_VALUES } from "../completion/completer.js";
export type { Completer, CompletionContext } from "../completion/completer.js";

/**
 * Registers `completion/complete` on one serving unit. An unknown prompt or template is
 * Invalid Params (the spec's error for an invalid prompt name); a known one whose argument
 * has no completer answers no values. The caller must be allowed to use the prompt or
 * template itself (its scopes), exactly as for prompts/get and resources/read.
 */
export function registerCompletionHandler(
  server: Server,
  prompts: PromptRegistry | undefined,
  resources: ResourceRegistry | undefined,
  deps: ServingDeps,
): void {
  server.setRequestHandler("completion/complete", async (request, sdkCtx) => {
    const { ref, argument } = request.params;
    const principal = deps.principalOf(sdkCtx);
    let completer: Completer | undefined;
    let timeoutMs: number | undefined;
    let what: string;
    if (ref.type === "ref/prompt") {
      const prompt = prompts?.get(ref.name);
      if (!prompt) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt '${ref.name}'.`);
      }
      what = `Prompt '${prompt.name}'`;
      assertAllowed(deps, principal, prompt.scopes, what);
      completer = prompt.complete[argument.name];
      timeoutMs = prompt.timeoutMs;
    } else if (ref.type === "ref/resource") {
      const template = resources?.template(ref.uri);
      if (!template) {
        // A plain resource has nothing to complete; anything else is not ours.
        if (resources?.resource(ref.uri)) return EMPTY;
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Unknown resource template '${ref.uri}'.`,
        );
      }
      what = `Resource template '${template.uriTemplate}'`;
      assertAllowed(deps, principal, template.scopes, what);
      completer = template.complete[argument.name];
      timeoutMs = template.timeoutMs;
    } else {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        "Unknown completion reference type.",
      );
    }
    if (!completer) return EMPTY;
    const run = completer;
    const values = await runGuarded(
      (signal) =>
        run(argument.value, {
          arguments: { ...request.params.context?.arguments },
          signal,
          principal,
        }),
      {
        signal: sdkCtx.mcpReq.signal,
        timeoutMs: timeoutMs ?? deps.defaultTimeoutMs,
        log: deps.log.child({ completion: what, argument: argument.name }),
        what: `Completing ${argument.name} of ${what}`,
        notFound: (message) => new ProtocolError(ProtocolErrorCode.InvalidParams, message),
      },
    );
    if (!Array.isArray(values)) {
      throw internalError(
        deps.log,
        `Completing ${argument.name} of ${what}`,
        new TypeError("a completer must return an array of strings"),
      );
    }
    return completionResult(values as readonly unknown[]);
  });
}
