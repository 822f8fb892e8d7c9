import { cancellationOf, type Cancellation } from "../util/lazy-abort.js";
import type { CallContext } from "./types.js";

/** The call's client cancellation, read without creating `ctx.signal` where possible. */
export function callCancellation(ctx: CallContext): Cancellation {
  return ctx.cancellation ?? cancellationOf(ctx.signal);
}
