// What the model must see for each kind of call, and the check of one client's `Seen`
// against it. A typed error is read from the model-visible text (the error contract puts
// the same one-line JSON there, for clients that show only text), then cross-checked with
// `_meta["toolgate/error"]` and `structuredContent` where the client kept them.
import { isDeepStrictEqual } from "node:util";
import { type ErrorType } from "../../src/index.js";
import { ERROR_TYPES } from "../../src/errors/index.js";
import type { ClientName, Seen } from "./clients.js";

// The wire names, written out: the matrix checks what clients receive, not src's constants.
const ERROR_META_KEY = "toolgate/error";
const REPLAY_META_KEY = "toolgate/idempotent-replay";

export type Expectation =
  /** A result the model can use; `text` must match its text or structuredContent. */
  | { kind: "success"; text: RegExp; structured: boolean }
  /** The stored result of an earlier call with the same key, flagged as a replay. */
  | { kind: "replay"; text: RegExp; structured: boolean }
  /**
   * The contract's typed error. `structured`: the tool declares an outputSchema.
   * `unlisted`: the tool is not in this caller's tools/list (toolgate lists only the tools a
   * principal may call; an unknown name is in no list). A client that calls only listed
   * tools (the Inspector CLI) refuses before sending, with `tool_not_found`: what the model
   * sees is that no such tool is offered, which is right for these calls.
   */
  | {
      kind: "error";
      type: ErrorType;
      message: RegExp;
      structured: boolean;
      secret?: string;
      unlisted?: boolean;
    }
  /** Another server's own `isError` result (no typed error), passed through. */
  | { kind: "tool_error"; message: RegExp; structured: boolean }
  /** HTTP 401: the client, not the model, must fix the token. */
  | { kind: "refused" };

export type Verdict = { ok: true } | { ok: false; short: string; detail: string };

const OK: Verdict = { ok: true };
const fail = (short: string, detail: string): Verdict => ({ ok: false, short, detail });
const clip = (text: string, max = 40) =>
  text.length > max ? `${text.slice(0, max - 3)}...` : text;
const json = (value: unknown) => JSON.stringify(value) ?? String(value);

function textOf(result: Record<string, unknown>): string {
  const content = Array.isArray(result["content"]) ? (result["content"] as unknown[]) : [];
  return content
    .map((block) => (block as { type?: unknown; text?: unknown } | null) ?? {})
    .filter((block) => block.type === "text" && typeof block.text === "string")
    .map((block) => block.text as string)
    .join("\n");
}

/** The typed error in the text: `{"error":{type,message,retryable,...}}`, else undefined. */
function errorInText(text: string): Record<string, unknown> | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown } | null)?.error;
    if (typeof error !== "object" || error === null) return undefined;
    const e = error as Record<string, unknown>;
    return typeof e["type"] === "string" && typeof e["message"] === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}

function metaOf(result: Record<string, unknown>, key: string): unknown {
  const meta = result["_meta"];
  return typeof meta === "object" && meta !== null
    ? (meta as Record<string, unknown>)[key]
    : undefined;
}

/** The typed error against the expectation: type, retryable, message. */
function checkTyped(
  error: { type?: unknown; retryable?: unknown; message?: unknown },
  exp: Extract<Expectation, { kind: "error" }>,
): Verdict {
  const got = `${String(error.type)} (retryable ${String(error.retryable)}): ${String(error.message)}`;
  if (error.type !== exp.type) return fail(`${String(error.type)}, not ${exp.type}`, got);
  if (error.retryable !== ERROR_TYPES[exp.type].retryable) {
    return fail(`retryable ${String(error.retryable)}`, got);
  }
  if (typeof error.message !== "string" || !exp.message.test(error.message)) {
    return fail(
      `message: ${clip(String(error.message), 36)}`,
      `${got}\nwanted ${String(exp.message)}`,
    );
  }
  return OK;
}

function checkResult(exp: Expectation, result: Record<string, unknown>): Verdict {
  const text = textOf(result);
  const whole = json(result);
  if (exp.kind === "refused") return fail("answered instead of 401", whole);
  if (exp.kind === "success" || exp.kind === "replay") {
    if (result["isError"] === true) {
      const typed = errorInText(text);
      return fail(typed ? `error ${String(typed["type"])}` : `error: ${clip(text, 36)}`, whole);
    }
    // Text, structured content, or other content (a resource link has no text).
    const shown = [text, json(result["structuredContent"]), json(result["content"])];
    if (!shown.some((s) => exp.text.test(s))) return fail(`unexpected: ${clip(text, 36)}`, whole);
    if (exp.structured && result["structuredContent"] === undefined) {
      return fail("no structuredContent", whole);
    }
    if (exp.kind === "replay" && metaOf(result, REPLAY_META_KEY) !== true) {
      return fail("not flagged as a replay", whole);
    }
    return OK;
  }
  if (result["isError"] !== true) return fail(`no error: ${clip(text, 36)}`, whole);
  const typed = errorInText(text);
  const meta = metaOf(result, ERROR_META_KEY);
  const structured = result["structuredContent"] as { error?: unknown } | undefined;
  if (exp.kind === "tool_error") {
    if (typed || meta !== undefined) return fail("typed, not the upstream's error", whole);
    if (!exp.message.test(text)) return fail(`text: ${clip(text, 36)}`, whole);
    if (exp.structured && structured !== undefined) {
      return fail("structuredContent on outputSchema tool", whole);
    }
    return OK;
  }
  if (!typed) return fail(`untyped: ${clip(text, 38)}`, whole);
  const verdict = checkTyped(typed, exp);
  if (!verdict.ok) return { ...verdict, detail: `${verdict.detail}\n${whole}` };
  if (meta !== undefined && !isDeepStrictEqual(meta, typed))
    return fail("_meta differs from text", whole);
  if (exp.structured && structured !== undefined) {
    return fail("structuredContent on outputSchema tool", whole);
  }
  if (!exp.structured && !isDeepStrictEqual(structured?.error, typed)) {
    return fail("structuredContent differs from text", whole);
  }
  if (exp.secret !== undefined && whole.includes(exp.secret)) return fail("leaks the cause", whole);
  return OK;
}

function checkKit(exp: Expectation, seen: Extract<Seen, { kind: "kit" }>): Verdict {
  const o = seen.outcome;
  const whole = json(o.ok ? { ok: true, value: o.value, replayed: o.replayed } : o.error);
  if (exp.kind === "success" || exp.kind === "replay") {
    if (!o.ok) return fail(`${o.error.type}: ${clip(o.error.message, 30)}`, whole);
    const shown = [typeof o.value === "string" ? o.value : json(o.value), json(o.result.content)];
    if (!shown.some((s) => exp.text.test(s))) {
      return fail(`unexpected: ${clip(json(o.value), 36)}`, whole);
    }
    if (exp.kind === "replay" && !o.replayed) return fail("not flagged as a replay", whole);
    return OK;
  }
  if (o.ok) return fail(`ok: ${clip(json(o.value), 40)}`, whole);
  if (exp.kind === "refused") {
    return o.error.type === "unauthenticated" && o.error.source === "transport"
      ? OK
      : fail(`${o.error.type} (${o.error.source})`, whole);
  }
  if (exp.kind === "tool_error") {
    if (o.error.type !== "tool_error") return fail(`${o.error.type}, not tool_error`, whole);
    return exp.message.test(o.error.message)
      ? OK
      : fail(`message: ${clip(o.error.message, 36)}`, whole);
  }
  if (o.error.source !== "contract") {
    return fail(`${o.error.type} from ${o.error.source}: ${clip(o.error.message, 24)}`, whole);
  }
  const verdict = checkTyped(o.error, exp);
  if (!verdict.ok) return verdict;
  if (exp.secret !== undefined && whole.includes(exp.secret)) return fail("leaks the cause", whole);
  return OK;
}

/** Whether what `client` saw is what the model must see. */
export function judge(exp: Expectation, client: ClientName, seen: Seen): Verdict {
  switch (seen.kind) {
    case "result":
      return checkResult(exp, seen.result);
    case "kit":
      return checkKit(exp, seen);
    case "thrown":
      if (
        exp.kind === "refused" &&
        (seen.status === 401 || /\b401\b|unauthori[sz]ed/i.test(seen.message))
      ) {
        return OK;
      }
      return fail(`threw: ${clip(seen.message, 40)}`, `${client} threw: ${seen.message}`);
    case "cli":
      if (exp.kind === "refused" && seen.exitCode === 3 && seen.code === "auth_required") return OK;
      if (
        exp.kind === "error" &&
        exp.unlisted === true &&
        seen.code === "tool_not_found" &&
        /not found/i.test(seen.message)
      ) {
        return OK;
      }
      return fail(
        `CLI ${seen.code ?? `exit ${String(seen.exitCode)}`}: ${clip(seen.message, 32)}`,
        `inspector exited ${String(seen.exitCode)}: ${seen.code ?? ""} ${seen.message}`,
      );
  }
}
