// Completers as prompts and resource templates declare them (`complete: { arg: fn }`),
// checked when the definition is made. Serving completion/complete is the server's
// (src/server/completion.ts); this module sits below both so neither imports the other.
import type { CompleteResult } from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";

/** What a completer receives besides the partial value. */
export interface CompletionContext {
  /** Arguments (or template variables) the user has already filled in. */
  readonly arguments: Readonly<Record<string, string>>;
  /** Aborts at the deadline or when the client cancels. */
  readonly signal: AbortSignal;
  /** Who asks (anonymous unless auth is configured). */
  readonly principal: Principal;
}

/** Suggests values for one argument from what the user typed so far (`value`). */
export type Completer = (
  value: string,
  context: CompletionContext,
) => readonly string[] | Promise<readonly string[]>;

/** The spec's cap on `completion.values` per response. */
export const MAX_COMPLETION_VALUES = 100;

/** The result for a completer's values: at most 100, with `total` and `hasMore` when cut. */
export function completionResult(values: readonly unknown[]): CompleteResult {
  const strings = [...new Set(values.filter((v): v is string => typeof v === "string"))];
  return {
    completion: {
      values: strings.slice(0, MAX_COMPLETION_VALUES),
      total: strings.length,
      hasMore: strings.length > MAX_COMPLETION_VALUES,
    },
  };
}

/** Checks a definition's `complete` map: its keys must be among `names`. */
export function checkCompleters(
  complete: unknown,
  names: readonly string[],
  what: string,
  where: string,
): Readonly<Record<string, Completer>> {
  if (complete === undefined) return Object.freeze({});
  if (typeof complete !== "object" || complete === null || Array.isArray(complete))
    throw new TypeError(`${where}: complete must be an object of functions, one per ${what}.`);
  const out: Record<string, Completer> = {};
  for (const [key, fn] of Object.entries(complete)) {
    if (!names.includes(key)) {
      throw new TypeError(
        `${where}: complete.${key} names no ${what} (${what}s: ${names.join(", ") || "none"}).`,
      );
    }
    if (typeof fn !== "function")
      throw new TypeError(`${where}: complete.${key} must be a function.`);
    out[key] = fn as Completer;
  }
  return Object.freeze(out);
}
