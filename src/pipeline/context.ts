import type { CallContext, CallRecord, CallState } from "./types.js";

/** Where a context's `signal` comes from: a LazyAbort (made on first read), or a signal. */
export interface SignalSource {
  readonly signal: AbortSignal;
}

/** A call's context without its signal: what an adapter fills in (createCallContext). */
export type CallContextFields = Omit<CallContext, "signal">;

// The state a stage may derive; everything else is the request (or its record).
const STATE_KEYS: ReadonlySet<string> = new Set<keyof CallState>([
  "requestId",
  "log",
  "principal",
  "tool",
  "args",
  "deadline",
  "idempotencyKey",
]);
const REQUEST_KEYS: ReadonlySet<string> = new Set<keyof CallContext>([
  "toolName",
  "kind",
  "label",
  "rawArguments",
  "meta",
  "transport",
  "headers",
  "signal",
  "cancellation",
  "startedAt",
  "lookup",
  "backends",
  "sdk",
  "record",
]);

/**
 * The one shape of every context the server builds. A class on purpose: deriving copies
 * the fields into a new object of the same hidden class (about 100 ns), and `signal` is
 * a getter on the prototype, so neither deriving nor spreading creates the AbortSignal.
 * (Measured: a prototype chain per derived context, `Object.create(ctx)`, costs ~2 us per
 * derivation in V8's prototype bookkeeping; copying property descriptors ~6 us.)
 */
class Context {
  readonly toolName: string;
  readonly kind: CallContext["kind"];
  readonly label: string | undefined;
  readonly rawArguments: unknown;
  readonly meta: CallContext["meta"];
  readonly transport: CallContext["transport"];
  readonly headers: CallContext["headers"];
  readonly cancellation: CallContext["cancellation"];
  readonly startedAt: number;
  readonly lookup: CallContext["lookup"];
  readonly backends: CallContext["backends"];
  readonly sdk: CallContext["sdk"];
  readonly record: CallRecord;
  readonly requestId: string;
  readonly log: CallContext["log"];
  readonly principal: CallContext["principal"];
  readonly tool: CallContext["tool"] | undefined;
  readonly args: unknown;
  readonly deadline: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly #signal: SignalSource;
  // Names of state of the user's own (an augmented CallState), carried on by deriving.
  readonly #extras: readonly string[] | undefined;

  constructor(from: CallContextFields | Context, signal: SignalSource, extras?: readonly string[]) {
    this.toolName = from.toolName;
    this.kind = from.kind;
    this.label = from.label;
    this.rawArguments = from.rawArguments;
    this.meta = from.meta;
    this.transport = from.transport;
    this.headers = from.headers;
    this.cancellation = from.cancellation;
    this.startedAt = from.startedAt;
    this.lookup = from.lookup;
    this.backends = from.backends;
    this.sdk = from.sdk;
    this.record = from.record;
    this.requestId = from.requestId;
    this.log = from.log;
    this.principal = from.principal;
    this.tool = from.tool;
    this.args = from.args;
    this.deadline = from.deadline;
    this.idempotencyKey = from.idempotencyKey;
    this.#signal = signal;
    this.#extras = extras;
    if (extras) for (const key of extras) own(this)[key] = own(from)[key];
  }

  get signal(): AbortSignal {
    return this.#signal.signal;
  }

  derive(state: Partial<CallState>): Context {
    let extras = this.#extras;
    for (const key of Object.keys(state)) {
      if (STATE_KEYS.has(key) || extras?.includes(key)) continue;
      if (REQUEST_KEYS.has(key))
        throw new TypeError(
          `withState: '${key}' is part of the request, which stages do not change.`,
        );
      extras = [...(extras ?? []), key];
    }
    const next = new Context(this, this.#signal, extras);
    Object.assign(next, state);
    return next;
  }
}

const own = (value: object) => value as Record<string, unknown>;

/** A new call's context; `signal` is read from `signal` only when something reads it. */
export function newCallContext(fields: CallContextFields, signal: SignalSource): CallContext {
  return new Context(fields, signal) as unknown as CallContext;
}

/**
 * A new context that carries `state` (what a stage learned) on top of `ctx`; `ctx` itself
 * is unchanged. Pass it on with `next(withState(ctx, { ... }))`. Cheap (no AbortSignal is
 * created), and it shares `ctx.record` so the call's observations stay in one place.
 */
export function withState(ctx: CallContext, state: Partial<CallState>): CallContext {
  // A context built by hand (tests, a pipeline run without the server) is adopted first;
  // its own `signal` is still read only when asked for.
  const base = ctx instanceof Context ? ctx : new Context(ctx, ctx);
  return base.derive(state) as unknown as CallContext;
}
