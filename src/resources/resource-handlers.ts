// The resources/* request handlers of one serving unit (one SDK `Server`).
import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type ReadResourceResult,
  type Server,
} from "@modelcontextprotocol/server";
import { toContents, type ResourceContext } from "./define-resource.js";
import type { ResourceRegistry } from "./resource-registry.js";
import {
  assertAllowed,
  internalError,
  isVisible,
  runGuarded,
  type ServingDeps,
} from "./serving.js";
import { MAX_SUBSCRIPTIONS_PER_UNIT, type UnitSubscriptions } from "./subscriptions.js";

/**
 * Registers resources/list, resources/templates/list, resources/read, and
 * resources/subscribe and resources/unsubscribe (2025-era clients; 2026-era clients
 * subscribe with `subscriptions/listen`, served by the SDK's entry).
 */
export function registerResourceHandlers(
  server: Server,
  registry: ResourceRegistry,
  deps: ServingDeps,
  subscriptions: UnitSubscriptions,
): void {
  server.setRequestHandler("resources/list", (_request, sdkCtx) => {
    const principal = deps.principalOf(sdkCtx);
    return {
      resources: registry.resources
        .filter((r) => isVisible(deps, principal, r.scopes))
        .map((r) => r.listing),
    };
  });

  server.setRequestHandler("resources/templates/list", (_request, sdkCtx) => {
    const principal = deps.principalOf(sdkCtx);
    return {
      resourceTemplates: registry.templates
        .filter((t) => isVisible(deps, principal, t.scopes))
        .map((t) => t.listing),
    };
  });

  server.setRequestHandler(
    "resources/read",
    async (request, sdkCtx): Promise<ReadResourceResult> => {
      const { uri } = request.params;
      const found = registry.resolve(uri);
      // SDK: the wire code is -32602 with data { uri } on every revision (SEP-2164).
      if (!found) throw new ResourceNotFoundError(uri);
      const { definition } = found;
      const principal = deps.principalOf(sdkCtx);
      const what = `Reading ${uri}`;
      assertAllowed(deps, principal, definition.scopes, `Resource ${uri}`);
      const log = deps.log.child({ resource: uri });
      const ctx: Omit<ResourceContext, "signal"> = { uri, principal, log };
      const value = await runGuarded(
        (signal) =>
          found.variables === undefined
            ? found.definition.read({ ...ctx, signal })
            : found.definition.read(uri, found.variables, { ...ctx, signal }),
        {
          signal: sdkCtx.mcpReq.signal,
          timeoutMs: definition.timeoutMs ?? deps.defaultTimeoutMs,
          log,
          what,
          notFound: (message) => new ResourceNotFoundError(uri, message),
        },
      );
      try {
        return { contents: toContents(value, uri, definition.mimeType) };
      } catch (error) {
        throw internalError(log, what, error);
      }
    },
  );

  server.setRequestHandler("resources/subscribe", (request, sdkCtx) => {
    const { uri } = request.params;
    // A URI no resource serves yet may be subscribed to (it may appear later); one that a
    // scoped resource serves needs that resource's scopes.
    const scopes = registry.resolve(uri)?.definition.scopes ?? [];
    assertAllowed(deps, deps.principalOf(sdkCtx), scopes, `Resource ${uri}`);
    if (!subscriptions.add(uri)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidRequest,
        `Too many subscriptions: at most ${MAX_SUBSCRIPTIONS_PER_UNIT} resources per connection. Unsubscribe from some first.`,
      );
    }
    return {};
  });

  server.setRequestHandler("resources/unsubscribe", (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
}
