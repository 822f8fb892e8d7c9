import type { PromptDefinition } from "./define-prompt.js";

/** The prompts of one server, by name, checked once at startup. */
export interface PromptRegistry {
  readonly prompts: readonly PromptDefinition[];
  get(name: string): PromptDefinition | undefined;
}

/**
 * Checks the `prompts` option. Returns undefined when there are none, so a server
 * without prompts does not advertise the capability.
 */
export function createPromptRegistry(prompts: unknown): PromptRegistry | undefined {
  if (prompts === undefined) return undefined;
  if (!Array.isArray(prompts))
    throw new TypeError("prompts must be an array of definePrompt(...) results.");
  const byName = new Map<string, PromptDefinition>();
  for (const [i, candidate] of (prompts as unknown[]).entries()) {
    if (
      typeof candidate !== "object" ||
      candidate === null ||
      (candidate as { kind?: unknown }).kind !== "prompt"
    ) {
      throw new TypeError(`prompts[${i}] was not built with definePrompt(...).`);
    }
    const prompt = candidate as PromptDefinition;
    if (byName.has(prompt.name))
      throw new TypeError(`Two prompts are named '${prompt.name}'; prompt names must be unique.`);
    byName.set(prompt.name, prompt);
  }
  if (byName.size === 0) return undefined;
  return { prompts: Object.freeze([...byName.values()]), get: (name) => byName.get(name) };
}
