import { idempotency, type IdempotencyStageOptions } from "../idempotency/stage.js";
import { rateLimit, type RateLimitStageOptions } from "../ratelimit/stage.js";
import { isRateLimitStore } from "../ratelimit/store.js";
import type { ToolgateStore } from "../stores/store-types.js";
import { authorize } from "./stages/authorize.js";
import { execute } from "./stages/execute.js";
import { mapErrors } from "./stages/map-errors.js";
import { requestId } from "./stages/request-id.js";
import { resolveTool } from "./stages/resolve-tool.js";
import { validateInput } from "./stages/validate-input.js";
import { validateOutput } from "./stages/validate-output.js";
import type { Stage } from "./types.js";

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
   * Default: SQLite at `.toolgate/idempotency.sqlite`, opened on first use and shared by
   * every stage of this process built without a store.
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
