import { runBackendCall } from "../observability/backend-call.js";
import type { CallBackends } from "../pipeline/types.js";
import type { ToolDefinition } from "../tool/types.js";
import type { BackendDefinition, BackendRuntime, BreakerState } from "./http-backend.js";

/** The server's backends, started once; each tool call gets clients bound to it. */
export interface BackendRegistry extends CallBackends {
  states(): { name: string; state: BreakerState }[];
  close(): Promise<void>;
}

/**
 * Checks at startup that every backend a tool declares exists, so a typo is a TypeError
 * when the server is built, not a failure on some later call.
 */
export function createBackendRegistry(
  definitions: Readonly<Record<string, BackendDefinition>> | undefined,
  tools: readonly ToolDefinition[],
): BackendRegistry {
  if (
    definitions !== undefined &&
    (typeof definitions !== "object" || definitions === null || Array.isArray(definitions))
  ) {
    throw new TypeError("backends must be an object: { name: httpBackend({ ... }) }.");
  }
  const runtimes = new Map<string, BackendRuntime>();
  for (const [name, definition] of Object.entries(definitions ?? {})) {
    if (typeof (definition as Partial<BackendDefinition> | null)?.start !== "function") {
      throw new TypeError(`backends.${name} must be a backend, e.g. httpBackend({ baseUrl }).`);
    }
  }
  for (const tool of tools) {
    for (const name of tool.backends.keys()) {
      if (!Object.hasOwn(definitions ?? {}, name)) {
        throw new TypeError(
          `Tool '${tool.name}' uses backend '${name}', but the server declares no such backend in backends.`,
        );
      }
    }
  }
  for (const [name, definition] of Object.entries(definitions ?? {}))
    runtimes.set(name, definition.start(name));
  return {
    client(ctx, signal, name) {
      const use = ctx.tool?.backends.get(name);
      const runtime = runtimes.get(name);
      if (!use || !runtime) {
        // Least privilege: a handler reaches only what its tool declared.
        throw new Error(
          `Tool '${ctx.toolName}' asked for backend '${String(name)}', which it does not declare in backends.`,
        );
      }
      return runtime.client(ctx, signal, use.scope);
    },
    run: runBackendCall,
    states: () => [...runtimes.values()].map((r) => ({ name: r.name, state: r.breakerState() })),
    close: async () => {
      await Promise.all([...runtimes.values()].map((r) => r.close()));
    },
  };
}
