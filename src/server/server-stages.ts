// The pipeline a server runs: the caller's own stage list, or the default list built by
// the same public factory a user would call (defaultStages), with the stages the server's
// tools need. A list that cannot honour what a tool declares refuses to start (checkStages).
import { checkStages } from "../pipeline/check-stages.js";
import { closeStages } from "../pipeline/stage-roles.js";
import type { Stage } from "../pipeline/types.js";
import { resolveRateLimits } from "../tool/rate-limit-options.js";
import { isRateLimitStore } from "../ratelimit/store.js";
import type { ServerInternals, ToolServerOptions } from "./server-options.js";
import type { ToolRegistry } from "./tool-registry.js";
import { defaultStages } from "../stages/default-stages.js";

export interface ServerStages {
  readonly stages: Stage[];
  /**
   * Asks every stage of the list (the default one or the caller's) to release what it
   * opened itself: the stages own their stores (a store the caller gave is never closed).
   */
  readonly close: () => Promise<void>;
}

export function serverStages(
  options: ToolServerOptions,
  registry: ToolRegistry,
  auth: boolean,
  internals: ServerInternals | undefined,
): ServerStages {
  const serverRateLimit = resolveRateLimits(options.rateLimit, "createToolServer: rateLimit");
  const rateLimited =
    serverRateLimit !== undefined ||
    internals?.mayRateLimit === true ||
    registry.tools.some((t) => t.rateLimit);
  if (rateLimited && options.store !== undefined && !isRateLimitStore(options.store)) {
    throw new TypeError(
      "createToolServer: rate limits need a store with consume() (every built-in store has it).",
    );
  }
  const mayWrite =
    internals?.mayWrite === true || registry.tools.some((t) => t.idempotency !== undefined);
  // The server opens no store: the caller's is passed on, and without one each stage
  // leases the default store itself and gives it back when close() below asks.
  // The server's own list leaves out the stages no tool needs (a read-only server pays
  // for no idempotency or budget stage); the gateway's has them before its tools exist.
  const stages =
    options.stages ??
    defaultStages({
      requireAuthentication: auth,
      ...(internals ? { guard: internals.guard } : {}),
      idempotency: mayWrite ? (options.store ? { store: options.store } : {}) : false,
      rateLimit: rateLimited
        ? {
            ...(serverRateLimit ? { server: serverRateLimit } : {}),
            ...(isRateLimitStore(options.store) ? { store: options.store } : {}),
          }
        : false,
      ...(options.defaultTimeoutMs === undefined
        ? {}
        : { defaultTimeoutMs: options.defaultTimeoutMs }),
    });
  checkStages(
    stages,
    {
      tools: registry.tools,
      auth,
      mayWrite: internals?.mayWrite === true,
      mayRateLimit: internals?.mayRateLimit === true,
    },
    "createToolServer",
  );
  return { stages, close: () => closeStages(stages) };
}
