// completion/complete: suggestions for a prompt's arguments (`ref/prompt`) and a resource
// template's variables (`ref/resource`), from the `complete` functions of their definitions.
// https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion
import {
  ProtocolError,
  ProtocolErrorCode,
  type CompleteResult,
  type Server,
} from "@modelcontextprotocol/server";
import { completionOperation } from "../completion/operation.js";
import type { PromptRegistry } from "../prompts/prompt-registry.js";
import type { ResourceRegistry } from "../resources/resource-registry.js";
import { serveOperation, type ServingDeps } from "../resources/serving.js";

const EMPTY: CompleteResult = { completion: { values: [], total: 0, hasMore: false } };

export { MAX_COMPLETION_VALUES } from "../completion/completer.js";
export type { Completer, CompletionContext } from "../completion/completer.js";

/**
 * Registers `completion/complete` on one serving unit: an adapter of the pipeline, like
 * prompts/get and resources/read (the caller needs the prompt's or template's scopes,
 * checked by authorize). An unknown prompt or template is Invalid Params (the spec's error
 * for an invalid prompt name); a known one whose argument has no completer answers no values.
 */
export function registerCompletionHandler(
  server: Server,
  prompts: PromptRegistry | undefined,
  resources: ResourceRegistry | undefined,
  deps: ServingDeps,
): void {
  server.setRequestHandler("completion/complete", async (request, sdkCtx) => {
    const { ref, argument } = request.params;
    let operation;
    let label: string;
    if (ref.type === "ref/prompt") {
      const prompt = prompts?.get(ref.name);
      if (!prompt) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt '${ref.name}'.`);
      }
      label = `Prompt '${prompt.name}'`;
      operation = completionOperation(prompt, `completion:prompt:${prompt.name}`);
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
      label = `Resource template '${template.uriTemplate}'`;
      operation = completionOperation(
        template,
        `completion:resource-template:${template.uriTemplate}`,
      );
    } else {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        "Unknown completion reference type.",
      );
    }
    const what = `Completing ${argument.name} of ${label}`;
    const output = await serveOperation(
      deps,
      {
        kind: "completion",
        operation,
        label,
        rawArguments: {
          argument,
          ...(request.params.context ? { context: request.params.context } : {}),
        },
        meta: request.params._meta,
        log: deps.log.child({ completion: label, argument: argument.name }),
      },
      sdkCtx,
      { what, notFound: (message) => new ProtocolError(ProtocolErrorCode.InvalidParams, message) },
    );
    return output as CompleteResult;
  });
}
