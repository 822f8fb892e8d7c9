// The default stage list. It composes stages from pipeline/, idempotency/ and ratelimit/
// with the default store of stores/, so it sits in a layer above all of them (stages/),
// not in pipeline/: pipeline/ is the inner layer those stages are built on, and a list
// there would make pipeline/ and idempotency/ import each other. Not in server/ either:
// it is public API for assembling your own list (toolgate/pipeline exports it) and the
// gateway's and a server's lists are built from it; server/ is the wiring onto transports.
import type { IdempotencyStageOptions } from "../idempotency/stage.js";
import { authorize } from "../pipeline/stages/authorize.js";
import { execute } from "../pipeline/stages/execute.js";
import { mapErrors } from "../pipeline/stages/map-errors.js";
import { requestId } from "../pipeline/stages/request-id.js";
import { resolveTool } from "../pipeline/stages/resolve-tool.js";
import { validateInput } from "../pipeline/stages/validate-input.js";
import { validateOutput } from "../pipeline/stages/validate-output.js";
import type { Stage } from "../pipeline/types.js";
import type { RateLimitStageOptions } from "../ratelimit/stage.js";
import { isRateLimitStore } from "../ratelimit/store.js";
import type { ToolgateStore } from "../stores/store-types.js";
import { idempotency, rateLimit } from "./store-stages.js";

export interface DefaultStagesOptions {
  /** Deadline of tools that set no `timeoutMs` (resolveTool fixes each call's). Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /**
   * Refuse anonymous callers and enforce tool scopes. Set it to true when the server has
   * `auth` (a server with `auth` and scoped tools refuses to start without it).
   */
  requireAuthentication?: boolean;
  /**
   * Where idempotency records and rate-limit budgets live (any built-in store holds both).
   * Default: SQLite at `.toolgate/idempotency.sqlite`, opened on first use, shared by
   * every stage of this process built without a store, and closed when the servers running
   * those stages have all closed. A store (or opener) you pass is yours: never closed here.
   */
  store?: ToolgateStore | (() => Promise<ToolgateStore>);
  /** The idempotency stage's options (`store` overrides the one above). */
  idempotency?: IdempotencyStageOptions | false;
  /** The rate-limit stage's options: `{ server: { perPrincipal: "60/min" } }` for budgets of every call. */
  rateLimit?: RateLimitStageOptions | false;
  /** Runs right after authorization, before anything is counted or claimed (the gateway's quarantine). */
  guard?: Stage;
}

/**
 * The default order of the architecture page, each stage with its own options and store:
 * write tools are idempotent and budgets are counted even in a list you assemble yourself
 * (`[...defaultStages().slice(0, 3), mine, ...defaultStages().slice(3)]`). `false` for
 * `idempotency` or `rateLimit` leaves that stage out; a server whose tools need it then
 * refuses to start. Observation (audit, metrics, spans) wraps the whole list in the
 * server, so it is not a stage here.
 */
export function defaultStages(options: DefaultStagesOptions = {}): Stage[] {
  const {
    requireAuthentication = false,
    store,
    idempotency: idempotencyOptions = {},
    rateLimit: rateLimitOptions = {},
    guard,
    defaultTimeoutMs,
  } = options;
  if (store !== undefined && typeof store !== "function" && !isRateLimitStore(store)) {
    throw new TypeError(
      "defaultStages: store must count rate limits too (consume(); every built-in store does). " +
        "Pass a store that only keeps idempotency records as idempotency: { store }.",
    );
  }
  // One store for both stages: an opener is called once, not once per stage.
  const shared =
    store === undefined ? {} : { store: typeof store === "function" ? openOnce(store) : store };
  return [
    requestId(),
    mapErrors(),
    resolveTool(defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs }),
    authorize({ requireAuthentication }),
    ...(guard ? [guard] : []),
    ...(rateLimitOptions ? [rateLimit({ ...shared, ...rateLimitOptions })] : []),
    validateInput(),
    ...(idempotencyOptions ? [idempotency({ ...shared, ...idempotencyOptions })] : []),
    validateOutput(),
    execute(),
  ];
}

function openOnce<T>(open: () => Promise<T>): () => Promise<T> {
  let opening: Promise<T> | undefined;
  return () =>
    (opening ??= open().catch((error: unknown) => {
      opening = undefined; // a store that failed to open is tried again on a later call
      throw error;
    }));
}
