import { promptOperation } from "../prompts/operation.js";
import type { PromptRegistry } from "../prompts/prompt-registry.js";
import { resourceOperation } from "../resources/operation.js";
import type { ResourceRegistry } from "../resources/resource-registry.js";
import type { ToolDefinition } from "../tool/types.js";

/**
 * The operations of a server's resources, templates and prompts (completions share their
 * scopes and deadlines), for the start-up check of the stage list (checkStages).
 */
export function servedOperations(
  resources: ResourceRegistry | undefined,
  prompts: PromptRegistry | undefined,
): ToolDefinition[] {
  return [
    ...(resources?.resources ?? []).map(resourceOperation),
    ...(resources?.templates ?? []).map(resourceOperation),
    ...(prompts?.prompts ?? []).map(promptOperation),
  ];
}
