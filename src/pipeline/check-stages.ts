// The architecture page: "A stage list that cannot honour what a tool declares (a write
// tool without the idempotency stage, scopes without authorization) refuses to start,
// naming the tool." A list that silently drops a guarantee a tool advertises (its schema
// asks for an idempotency key, its scopes are published) is worse than no server.
import type { ToolDefinition } from "../tool/types.js";
import { stageProvides, type StageRole } from "./stage-roles.js";
import type { Stage } from "./types.js";

export interface StageDemands {
  readonly tools: readonly ToolDefinition[];
  /** The server verifies callers (`auth`): declared scopes must be enforced. */
  readonly auth: boolean;
  /** Write tools may come later (the gateway): the idempotency stage must be there now. */
  readonly mayWrite?: boolean;
  /** Tools with budgets may come later (the gateway). */
  readonly mayRateLimit?: boolean;
  /** What the messages call the definitions (`tools` are also resources' and prompts' operations). */
  readonly noun?: readonly [one: string, many: string];
}

/** Throws a TypeError naming every tool whose declaration the stage list cannot honour. */
export function checkStages(stages: readonly Stage[], demands: StageDemands, where: string): void {
  const roles = stages.map((stage) => stageProvides(stage));
  const end = roles.findIndex((p) => p?.role === "execute");
  if (end === -1) {
    throw new TypeError(
      `${where}: the stage list has no execute() stage, so no tool would ever run. ` +
        "Pass defaultStages(), or end your list with execute().",
    );
  }
  // execute() answers without calling next(): a stage after it never runs.
  const before = roles.slice(0, end);
  const count = (role: StageRole) => before.filter((p) => p?.role === role).length;
  const problems: string[] = [];

  const writes = names(demands.tools.filter((t) => t.idempotency !== undefined));
  if (count("idempotency") === 0 && (writes.length > 0 || demands.mayWrite === true)) {
    problems.push(
      `${declare(writes, "write tool", "write tools")} idempotency (their callers send a ` +
        "key so that a retry does not run twice), but the stage list has no idempotency stage " +
        "before execute(). Pass defaultStages(), or add idempotency({ store }) after validateInput()",
    );
  }
  const budgeted = names(demands.tools.filter((t) => t.rateLimit !== undefined));
  if (count("rateLimit") === 0 && (budgeted.length > 0 || demands.mayRateLimit === true)) {
    problems.push(
      `${declare(budgeted, "tool", "tools")} rate limits, but the stage list has no ` +
        "rateLimit stage before execute(). Pass defaultStages(), or add rateLimit({ store }) after authorize()",
    );
  }
  const [one, many] = demands.noun ?? ["tool", "tools"];
  const scoped = names(demands.tools.filter((t) => t.scopes.length > 0));
  const enforcing = before.some((p) => p?.role === "authorize" && p.enforcesScopes === true);
  if (demands.auth && scoped.length > 0 && !enforcing) {
    problems.push(
      `${declare(scoped, one, many)} scopes and the server verifies callers (auth), ` +
        "but no stage before execute() enforces them. Pass defaultStages({ requireAuthentication: true }), " +
        "or add authorize({ requireAuthentication: true }) after resolveTool()",
    );
  }
  // A late result (the caller already got `timeout`) is checked by validateOutput on its
  // way out to the idempotency stage, which stores it for retries: the check must sit
  // between the two, or a wrong shape would be stored and replayed to the model.
  const checkedWrites = names(
    demands.tools.filter((t) => t.idempotency !== undefined && t.outputSchema !== undefined),
  );
  const claimAt = before.findIndex((p) => p?.role === "idempotency");
  const checkAt = before.findIndex((p) => p?.role === "validateOutput");
  if (checkedWrites.length > 0 && claimAt !== -1 && checkAt !== -1 && checkAt < claimAt) {
    problems.push(
      `${declare(checkedWrites, "write tool", "write tools")} an output schema, but the stage ` +
        "list runs validateOutput() before idempotency(), so a result that arrives after the " +
        "deadline would be stored unchecked. Put validateOutput() after idempotency()",
    );
  }
  for (const role of ["idempotency", "rateLimit"] as const) {
    if (count(role) > 1) {
      problems.push(
        `the stage list has ${count(role)} ${role} stages: each would act on the same call ` +
          "(a second idempotency stage waits for the first one's claim). Keep one",
      );
    }
  }
  if (problems.length > 0) {
    throw new TypeError(
      `${where}: the stage list cannot honour what the tools declare: ${problems.join("; ")}.`,
    );
  }
}

/**
 * `store` and `rateLimit` of createToolServer configure the default stages. A list of your
 * own has its stages' own stores and budgets: the server does not pre-wire them, and
 * ignoring either option would silently keep records or count budgets elsewhere.
 */
export function checkOwnStageOptions(options: {
  readonly stages?: unknown;
  readonly store?: unknown;
  readonly rateLimit?: unknown;
}): void {
  if (!Array.isArray(options.stages))
    throw new TypeError(
      "createToolServer: stages must be an array of stages (see defaultStages()).",
    );
  if (options.store !== undefined) {
    throw new TypeError(
      "createToolServer: store configures the default stages only; with your own stages, " +
        "give it to them: defaultStages({ store }) (or idempotency({ store }), rateLimit({ store })).",
    );
  }
  if (options.rateLimit !== undefined) {
    throw new TypeError(
      "createToolServer: rateLimit configures the default stages only; with your own stages, " +
        "give the budgets to them: defaultStages({ rateLimit: { server: { perPrincipal: ... } } }).",
    );
  }
}

function names(tools: readonly ToolDefinition[]): string[] {
  return tools.map((t) => t.name);
}

/**
 * "Tool 'a' declares", "Tools 'a', 'b' and 2 more declare", or, when there are none yet,
 * "The gateway's tools (...) declare".
 */
function declare(list: readonly string[], one: string, many: string): string {
  if (list.length === 0) return `The gateway's ${many} (they come with its upstreams) declare`;
  const shown = list
    .slice(0, 5)
    .map((n) => `'${n}'`)
    .join(", ");
  const more = list.length > 5 ? ` and ${list.length - 5} more` : "";
  return list.length === 1
    ? `${cap(one)} ${shown} declares`
    : `${cap(many)} ${shown}${more} declare`;
}

const cap = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
