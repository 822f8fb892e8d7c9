// completion/complete: suggestions for a prompt's arguments (`ref/prompt`) and a resource
// template's variables (`ref/resource`), from the `complete` functions of their definitions.
// https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion
import {
  ProtocolError,
  ProtocolErrorCode,
  type CompleteResult,
  type Server,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import type { PromptRegistry } from "../prompts/prompt-registry.js";
import type { ResourceRegistry } from "../resources/resource-registry.js";
import {
  assertAllowed,
  internalError,
  runGuarded,
  type ServingDeps,
} from "../resources/serving.js";

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

const EMPTY: CompleteResult = { completion: { values: [], total: 0, hasMore: false } };

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

/**
 * Registers `completion/complete` on one serving unit. An unknown prompt or template is
 * Invalid Params (the spec's error for an invalid prompt name); a known one whose argument
 * has no completer answers no values. The caller must be allowed to use the prompt or
 * template itself (its scopes), exactly as for prompts/get and resources/read.
 */
export function registerCompletionHandler(
  server: Server,
  prompts: PromptRegistry | undefined,
  resources: ResourceRegistry | undefined,
  deps: ServingDeps,
): void {
  server.setRequestHandler("completion/complete", async (request, sdkCtx) => {
    const { ref, argument } = request.params;
    const principal = deps.principalOf(sdkCtx);
    let completer: Completer | undefined;
    let timeoutMs: number | undefined;
    let what: string;
    if (ref.type === "ref/prompt") {
      const prompt = prompts?.get(ref.name);
      if (!prompt) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt '${ref.name}'.`);
      }
      what = `Prompt '${prompt.name}'`;
      assertAllowed(deps, principal, prompt.scopes, what);
      completer = prompt.complete[argument.name];
      timeoutMs = prompt.timeoutMs;
    } else if (ref.type === "ref/resource") {
      const template = resources?.template(ref.uri);
      if (!template) {
        // A plain resource has nothing to complete; anything else is not ours.
        if (resources?.resource(ref.uri)) return EMPTY;
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Unknown resource template '${ref.uri}'.`,
        );
      }
      what = `Resource template '${template.uriTemplate}'`;
      assertAllowed(deps, principal, template.scopes, what);
      completer = template.complete[argument.name];
      timeoutMs = template.timeoutMs;
    } else {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        "Unknown completion reference type.",
      );
    }
    if (!completer) return EMPTY;
    const run = completer;
    const values = await runGuarded(
      (signal) =>
        run(argument.value, {
          arguments: { ...request.params.context?.arguments },
          signal,
          principal,
        }),
      {
        signal: sdkCtx.mcpReq.signal,
        timeoutMs: timeoutMs ?? deps.defaultTimeoutMs,
        log: deps.log.child({ completion: what, argument: argument.name }),
        what: `Completing ${argument.name} of ${what}`,
        notFound: (message) => new ProtocolError(ProtocolErrorCode.InvalidParams, message),
      },
    );
    if (!Array.isArray(values)) {
      throw internalError(
        deps.log,
        `Completing ${argument.name} of ${what}`,
        new TypeError("a completer must return an array of strings"),
      );
    }
    return completionResult(values as readonly unknown[]);
  });
}
