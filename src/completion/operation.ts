// The operation behind completion/complete for one prompt or resource template: what the
// pipeline's stages run (src/tool/operation.ts), made once per definition.
import type { CompleteResult } from "@modelcontextprotocol/server";
import { defineOperation, thenMap } from "../tool/operation.js";
import type { ToolDefinition } from "../tool/types.js";
import { completionResult, type Completer, type CompletionContext } from "./completer.js";

/** What completion needs of a prompt or resource template. */
export interface Completable {
  readonly scopes: readonly string[];
  readonly timeoutMs: number | undefined;
  readonly complete: Readonly<Record<string, Completer>>;
}

/** The arguments of a completion operation: completion/complete's `argument` and `context`. */
export interface CompletionArgs {
  readonly argument: { readonly name: string; readonly value: string };
  readonly context?: { readonly arguments?: Readonly<Record<string, string>> } | undefined;
}

const OPERATIONS = new WeakMap<Completable, ToolDefinition>();
const EMPTY: CompleteResult = { completion: { values: [], total: 0, hasMore: false } };

/**
 * The operation completing arguments of `target`, named `name`: "completion:prompt:<name>"
 * or "completion:resource-template:<uriTemplate>" (never a tool's name, which has no ':').
 * An argument without a completer completes to no values.
 */
export function completionOperation(target: Completable, name: string): ToolDefinition {
  let operation = OPERATIONS.get(target);
  if (!operation) OPERATIONS.set(target, (operation = build(target, name)));
  return operation;
}

function build(target: Completable, name: string): ToolDefinition {
  return defineOperation({
    name,
    scopes: target.scopes,
    timeoutMs: target.timeoutMs,
    parseInput(raw) {
      const argument = (raw as Partial<CompletionArgs> | null)?.argument;
      if (typeof argument?.name !== "string" || typeof argument.value !== "string") {
        return {
          ok: false,
          issues: [{ path: "/argument", message: "must be { name, value } of strings" }],
        };
      }
      return { ok: true, value: raw };
    },
    run(args, ctx) {
      const { argument, context } = args as CompletionArgs;
      const completer = Object.hasOwn(target.complete, argument.name)
        ? target.complete[argument.name]
        : undefined;
      if (!completer) return EMPTY;
      const completionCtx: CompletionContext = {
        arguments: { ...context?.arguments },
        principal: ctx.principal,
        get signal() {
          return ctx.signal;
        },
      };
      return thenMap(completer(argument.value, completionCtx), (values) => {
        if (!Array.isArray(values))
          throw new TypeError("a completer must return an array of strings");
        return completionResult(values as readonly unknown[]);
      });
    },
  });
}
