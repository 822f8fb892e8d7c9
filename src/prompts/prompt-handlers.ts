// The prompts/* request handlers of one serving unit (one SDK `Server`).
import {
  ProtocolError,
  ProtocolErrorCode,
  type GetPromptResult,
  type Server,
} from "@modelcontextprotocol/server";
import { isVisible, serveOperation, type ServingDeps } from "../resources/serving.js";
import { promptOperation } from "./operation.js";
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
    const what = `Prompt '${prompt.name}'`;
    const output = await serveOperation(
      deps,
      {
        kind: "prompt",
        operation: promptOperation(prompt),
        label: what,
        rawArguments: request.params.arguments,
        meta: request.params._meta,
        log: deps.log.child({ prompt: prompt.name }),
      },
      sdkCtx,
      { what, notFound: (message) => new ProtocolError(ProtocolErrorCode.InvalidParams, message) },
    );
    return output as GetPromptResult;
  });
}
