// Prompts: message templates the user picks in the client (prompts/list, prompts/get).
// https://modelcontextprotocol.io/specification/2025-11-25/server/prompts
import type { GetPromptResult, Prompt, PromptArgument } from "@modelcontextprotocol/server";
import * as z from "zod";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import {
  checkKnownKeys,
  checkOptionalString,
  checkScopes,
  checkTimeout,
} from "../resources/definition-checks.js";
import { checkCompleters, type Completer } from "../completion/completer.js";
import { deepFreeze } from "../util/deep-freeze.js";
import { isZodSchema } from "../validation/json-schema.js";

/** One argument of a prompt, as listed in prompts/list. Values are always strings. */
export interface PromptArgumentSpec {
  readonly name: string;
  readonly description?: string;
  readonly required?: boolean;
}

/** A zod object of string fields, or the list of arguments. */
export type PromptArgumentsInput = z.ZodObject | readonly PromptArgumentSpec[];

/** The arguments `get` receives: zod's output, or the listed names (required ones set). */
export type PromptArgs<A> = A extends z.ZodType
  ? z.output<A>
  : A extends readonly PromptArgumentSpec[]
    ? {
        [E in A[number] as E["name"]]: E extends { readonly required: true }
          ? string
          : string | undefined;
      }
    : Record<string, never>;

/** What a `get` receives besides the arguments. */
export interface PromptContext {
  readonly name: string;
  /** Aborts at the deadline or when the client cancels. */
  readonly signal: AbortSignal;
  /** Who asks (anonymous unless auth is configured). */
  readonly principal: Principal;
  /** A child logger bound to this request. Goes to the server log only. */
  readonly log: Logger;
}

export type PromptMessages = GetPromptResult["messages"];

/**
 * What a `get` returns: the messages (text, image, audio, embedded resource or resource
 * link content), a string (one user text message), or `{ description?, messages }`.
 */
export type PromptGetValue =
  string | PromptMessages | { readonly description?: string; readonly messages: PromptMessages };

export interface PromptSpec<A extends PromptArgumentsInput | undefined = undefined> {
  /** 1-128 characters: letters, digits, `_`, `-`, `.` (as tool names). */
  name: string;
  title?: string;
  description?: string;
  /** The arguments: a zod object (values arrive as strings) or a list of `{ name, required }`. */
  arguments?: A;
  /** Scopes the caller's token must carry to see and get it (auth on). Default none. */
  scopes?: readonly string[];
  /** Deadline of one get in milliseconds (default: the server's, 30 000). */
  timeoutMs?: number;
  get: (args: PromptArgs<A>, ctx: PromptContext) => PromptGetValue | Promise<PromptGetValue>;
  /** Completion of argument values (completion/complete with `ref/prompt`), by argument. */
  complete?: Readonly<Record<string, Completer>>;
}

export interface PromptDefinition {
  readonly kind: "prompt";
  readonly name: string;
  readonly description: string | undefined;
  readonly scopes: readonly string[];
  readonly timeoutMs: number | undefined;
  readonly arguments: readonly PromptArgument[];
  /** The prompts/list entry. */
  readonly listing: Prompt;
  /** Checks the client's arguments: the args for `get`, or what is wrong with them. */
  readonly parseArgs: (
    raw: Record<string, string> | undefined,
  ) => { ok: true; value: unknown } | { ok: false; message: string; issues?: unknown[] };
  readonly get: (args: unknown, ctx: PromptContext) => PromptGetValue | Promise<PromptGetValue>;
  readonly complete: Readonly<Record<string, Completer>>;
}

const PROMPT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const KEYS = [
  "name",
  "title",
  "description",
  "arguments",
  "scopes",
  "timeoutMs",
  "get",
  "complete",
];
const ARGUMENT_KEYS = ["name", "description", "required"];

/**
 * Defines a prompt. Every option is checked here, once: a bad definition is a
 * `TypeError` at startup that names the field.
 */
export function definePrompt<const A extends PromptArgumentsInput | undefined = undefined>(
  spec: PromptSpec<A>,
): PromptDefinition {
  if (typeof spec !== "object" || spec === null)
    throw new TypeError("definePrompt expects an options object.");
  const where = `Prompt '${String(spec.name)}'`;
  checkKnownKeys(spec, KEYS, where);
  if (typeof spec.name !== "string" || !PROMPT_NAME.test(spec.name)) {
    throw new TypeError(
      `${where}: name must be 1-128 characters of letters, digits, '_', '-' or '.'.`,
    );
  }
  checkOptionalString(spec.title, "title", where);
  checkOptionalString(spec.description, "description", where);
  const scopes = checkScopes(spec.scopes, where);
  const timeoutMs = checkTimeout(spec.timeoutMs, where);
  if (typeof spec.get !== "function") throw new TypeError(`${where}: get must be a function.`);
  const zodArgs = isZodSchema(spec.arguments) ? spec.arguments : undefined;
  const args = zodArgs ? argumentsOfZod(zodArgs, where) : argumentsOfList(spec.arguments, where);
  const names = args.map((a) => a.name);
  const complete = checkCompleters(spec.complete, names, "argument", where);
  const listing: Prompt = {
    name: spec.name,
    ...(spec.title === undefined ? {} : { title: spec.title }),
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(args.length === 0 ? {} : { arguments: args.map((a) => ({ ...a })) }),
    // As for tools: the contract facts a client kit or gateway needs, under toolgate's prefix.
    _meta: { "toolgate/scopes": [...scopes] },
  };
  const required = args.filter((a) => a.required === true).map((a) => a.name);
  return Object.freeze({
    kind: "prompt",
    name: spec.name,
    description: spec.description,
    scopes,
    timeoutMs,
    arguments: deepFreeze(args),
    listing: deepFreeze(listing),
    parseArgs: (raw: Record<string, string> | undefined) =>
      parseArgs(raw ?? {}, names, required, zodArgs, spec.name),
    get: spec.get as PromptDefinition["get"],
    complete,
  });
}

function argumentsOfList(given: unknown, where: string): PromptArgument[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) {
    throw new TypeError(
      `${where}: arguments must be a zod object or an array of { name, description?, required? }.`,
    );
  }
  const seen = new Set<string>();
  return (given as unknown[]).map((entry, i) => {
    const at = `${where}: arguments[${i}]`;
    if (typeof entry !== "object" || entry === null)
      throw new TypeError(`${at} must be an object { name, description?, required? }.`);
    checkKnownKeys(entry, ARGUMENT_KEYS, at);
    const { name, description, required } = entry as Record<string, unknown>;
    if (typeof name !== "string" || name === "") throw new TypeError(`${at}.name is required.`);
    if (seen.has(name)) throw new TypeError(`${where}: argument '${name}' is listed twice.`);
    seen.add(name);
    checkOptionalString(description, "description", at);
    if (required !== undefined && typeof required !== "boolean")
      throw new TypeError(`${at}.required must be true or false.`);
    return {
      name,
      ...(description === undefined ? {} : { description }),
      ...(required === undefined ? {} : { required }),
    };
  });
}

function argumentsOfZod(schema: z.ZodType, where: string): PromptArgument[] {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" });
  } catch (error) {
    throw new TypeError(
      `${where}: the arguments schema cannot be expressed as JSON Schema (${(error as Error).message}).`,
    );
  }
  const properties = json["properties"];
  if (json["type"] !== "object" || typeof properties !== "object" || properties === null) {
    throw new TypeError(`${where}: arguments must be a zod object (z.object({...})).`);
  }
  const required = Array.isArray(json["required"]) ? (json["required"] as string[]) : [];
  return Object.entries(properties as Record<string, Record<string, unknown>>).map(
    ([name, property]) => {
      const enumeration = property["enum"];
      const stringy =
        property["type"] === "string" ||
        (Array.isArray(enumeration) && enumeration.every((v) => typeof v === "string"));
      if (!stringy) {
        throw new TypeError(
          `${where}: argument '${name}' must be a string schema (prompt arguments are strings).`,
        );
      }
      const description = property["description"];
      return {
        name,
        ...(typeof description === "string" ? { description } : {}),
        required: required.includes(name),
      };
    },
  );
}

function parseArgs(
  raw: Record<string, string>,
  names: readonly string[],
  required: readonly string[],
  zodArgs: z.ZodType | undefined,
  prompt: string,
): { ok: true; value: unknown } | { ok: false; message: string; issues?: unknown[] } {
  const unknown = Object.keys(raw).filter((key) => !names.includes(key));
  if (unknown.length > 0) {
    return {
      ok: false,
      message:
        `Prompt '${prompt}' has no argument(s) ${unknown.join(", ")}` +
        (names.length === 0 ? "; it takes none." : ` (arguments: ${names.join(", ")}).`),
    };
  }
  const notString = Object.keys(raw).filter((key) => typeof raw[key] !== "string");
  if (notString.length > 0)
    return { ok: false, message: `Prompt arguments are strings: ${notString.join(", ")} is not.` };
  const missing = required.filter((name) => raw[name] === undefined);
  if (missing.length > 0) {
    return {
      ok: false,
      message: `Prompt '${prompt}' needs the argument(s) ${missing.join(", ")}.`,
    };
  }
  if (!zodArgs) return { ok: true, value: { ...raw } };
  const parsed = zodArgs.safeParse({ ...raw });
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({
    argument: issue.path.map(String).join("."),
    message: issue.message,
  }));
  return {
    ok: false,
    message:
      `Invalid arguments for prompt '${prompt}': ` +
      issues.map((i) => (i.argument ? `${i.argument}: ${i.message}` : i.message)).join("; "),
    issues,
  };
}
