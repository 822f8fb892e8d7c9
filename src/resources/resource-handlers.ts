// The resources/* request handlers of one serving unit (one SDK `Server`).
import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type ReadResourceResult,
  type Server,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import { accessDenial } from "../auth/scopes.js";
import { resourceOperation } from "./operation.js";
import type { ResourceRegistry } from "./resource-registry.js";
import { isVisible, refusal, serveOperation, type ServingDeps } from "./serving.js";
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
      // Routing, as the SDK routes methods: a URI nothing serves reaches no operation.
      const found = registry.resolve(uri);
      // SDK: the wire code is -32602 with data { uri } on every revision (SEP-2164).
      if (!found) throw new ResourceNotFoundError(uri);
      const output = await serveOperation(
        deps,
        {
          kind: "resource",
          operation: resourceOperation(found.definition),
          label: `Resource ${uri}`,
          rawArguments: { uri },
          meta: request.params._meta,
          log: deps.log.child({ resource: uri }),
        },
        sdkCtx,
        {
          what: `Reading ${uri}`,
          notFound: (message) => new ResourceNotFoundError(uri, message),
        },
      );
      return output as ReadResourceResult;
    },
  );

  server.setRequestHandler("resources/subscribe", (request, sdkCtx) => {
    const { uri } = request.params;
    // A URI no resource serves yet may be subscribed to (it may appear later); one that a
    // scoped resource serves needs that resource's scopes.
    const scopes = registry.resolve(uri)?.definition.scopes ?? [];
    assertMaySubscribe(deps, deps.principalOf(sdkCtx), scopes, `Resource ${uri}`);
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

/**
 * A subscription is no call (nothing runs, nothing is answered but `{}`): like a listing, it
 * asks the one scope rule (auth/scopes.ts) directly, and refuses as resources/read would.
 */
function assertMaySubscribe(
  deps: ServingDeps,
  principal: Principal,
  scopes: readonly string[],
  what: string,
): void {
  if (!deps.authEnabled) return;
  const denial = accessDenial(principal, scopes, what);
  if (!denial) return;
  throw refusal(
    denial.type,
    denial.message,
    denial.type === "forbidden" ? denial.requiredScopes : undefined,
  );
}
