// The pipeline a server runs: the caller's own stage list, or the default list built by
// the same public factory a user would call (defaultStages), with the stages the server's
// tools need. A list that cannot honour what a tool declares refuses to start (checkStages).
import { openDefaultStore } from "../idempotency/default-store.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import type { Logger } from "../log/logger.js";
import { checkStages } from "../pipeline/check-stages.js";
import { defaultStages } from "../pipeline/default-stages.js";
import type { Stage } from "../pipeline/types.js";
import { resolveRateLimits } from "../ratelimit/options.js";
import { isRateLimitStore, type RateLimitStore } from "../ratelimit/store.js";
import type { ServerInternals, ToolServerOptions } from "./server-options.js";
import type { ToolRegistry } from "./tool-registry.js";

export interface ServerStages {
  readonly stages: Stage[];
  /** Closes the default store if this server opened it (never a store it was given). */
  readonly closeOwnStore: () => Promise<void>;
}

export function serverStages(
  options: ToolServerOptions,
  registry: ToolRegistry,
  auth: boolean,
  log: Logger,
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
  // Opened on first use, and closed with the server only if toolgate opened it.
  let ownStore: Promise<IdempotencyStore> | undefined;
  const openStore = () =>
    (ownStore ??= openDefaultStore(log).catch((error: unknown) => {
      ownStore = undefined; // tried again on the next write call
      throw error;
    }));
  const openRateLimitStore = () => openStore() as Promise<IdempotencyStore & RateLimitStore>;
  // The server's own list leaves out the stages no tool needs (a read-only server pays
  // for no idempotency or budget stage); the gateway's has them before its tools exist.
  const stages =
    options.stages ??
    defaultStages({
      requireAuthentication: auth,
      ...(internals ? { guard: internals.guard } : {}),
      idempotency: mayWrite ? { store: options.store ?? openStore } : false,
      rateLimit: rateLimited
        ? {
            ...(serverRateLimit ? { server: serverRateLimit } : {}),
            store: (options.store as RateLimitStore | undefined) ?? openRateLimitStore,
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
  return {
    stages,
    closeOwnStore: async () => {
      if (ownStore) await (await ownStore.catch(() => undefined))?.close();
      ownStore = undefined;
    },
  };
}
