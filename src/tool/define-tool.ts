import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type * as z from "zod";
import type { FieldIssue } from "../errors/tool-error.js";
import { isZodSchema, toJsonSchema, type SchemaInput } from "../validation/json-schema.js";
import { compileValidator, type ValidationOutcome } from "../validation/validator.js";
import type { BackendUse, ToolDefinition, ToolSpec } from "./types.js";
import { deepFreeze } from "../util/deep-freeze.js";
import { IDEMPOTENCY_ARGUMENT, addKeyArgument, resolveIdempotency } from "./idempotency-options.js";
import { resolveRateLimits } from "./rate-limit-options.js";
import type { Deprecation } from "./deprecation.js";

// https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-names
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 section 3.3 scope-token
const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit

/**
 * Defines a tool. Every option is checked here, once: a bad definition is a
 * `TypeError` at startup, never a surprise on the first call.
 */
export function defineTool<I extends SchemaInput, O extends SchemaInput | undefined = undefined>(
  spec: ToolSpec<I, O>,
): ToolDefinition {
  if (typeof spec !== "object" || spec === null)
    throw new TypeError("defineTool expects an options object.");
  const where = `Tool '${String(spec.name)}'`;
  if (typeof spec.name !== "string" || !TOOL_NAME.test(spec.name)) {
    throw new TypeError(
      `${where}: name must be 1-128 characters of letters, digits, '_', '-' or '.'.`,
    );
  }
  if (typeof spec.version !== "string" || !SEMVER.test(spec.version)) {
    throw new TypeError(`${where}: version must be a semantic version such as "1.0.0".`);
  }
  if (typeof spec.description !== "string" || spec.description.trim() === "") {
    throw new TypeError(`${where}: description is required; the model chooses tools by it.`);
  }
  if (spec.title !== undefined && typeof spec.title !== "string")
    throw new TypeError(`${where}: title must be a string.`);
  if (spec.sideEffect !== "read" && spec.sideEffect !== "write") {
    throw new TypeError(`${where}: sideEffect must be "read" or "write".`);
  }
  const scopes: unknown = spec.scopes;
  if (
    !Array.isArray(scopes) ||
    !(scopes as unknown[]).every((s) => typeof s === "string" && SCOPE.test(s))
  ) {
    throw new TypeError(
      `${where}: scopes must be an array of scope names without spaces ([] for none).`,
    );
  }
  if (
    spec.timeoutMs !== undefined &&
    (!Number.isInteger(spec.timeoutMs) || spec.timeoutMs <= 0 || spec.timeoutMs > MAX_TIMEOUT_MS)
  ) {
    throw new TypeError(`${where}: timeoutMs must be a positive integer number of milliseconds.`);
  }
  if (typeof spec.handler !== "function")
    throw new TypeError(`${where}: handler must be a function.`);

  const deprecated = resolveDeprecation(spec.deprecated, spec.name, where);
  const idempotency = resolveIdempotency(spec.idempotency, spec.sideEffect, where);
  const backends = resolveBackendUses(spec.backends, where);
  const rateLimit = resolveRateLimits(spec.rateLimit, `${where}: rateLimit`);
  const inputSchema = toJsonSchema(spec.input, "input", `${where}: input`);
  const keyArgument = idempotency?.argument === true;
  const validationSchema = keyArgument
    ? addKeyArgument(inputSchema, where, idempotency)
    : inputSchema;
  const inputValidator = compileValidator(validationSchema, `${where}: input`);
  const zodInput = isZodSchema(spec.input) ? spec.input : undefined;
  const outputSchema =
    spec.output === undefined ? undefined : toJsonSchema(spec.output, "output", `${where}: output`);
  const outputValidator = outputSchema
    ? compileValidator(outputSchema, `${where}: output`)
    : undefined;

  return Object.freeze({
    name: spec.name,
    version: spec.version,
    title: spec.title,
    description: deprecated ? spec.description + deprecationNotice(deprecated) : spec.description,
    scopes: Object.freeze([...(scopes as string[])]),
    sideEffect: spec.sideEffect,
    timeoutMs: spec.timeoutMs,
    annotations: Object.freeze(deriveAnnotations(spec, where, idempotency !== undefined)),
    idempotency,
    backends,
    rateLimit,
    inputSchema: deepFreeze(inputSchema),
    outputSchema: outputSchema ? deepFreeze(outputSchema) : undefined,
    deprecated,
    parseInput: (raw: unknown) => parseInput(raw, inputValidator.validate, zodInput, keyArgument),
    checkOutput: outputValidator?.validate,
    handler: spec.handler as (args: unknown, ctx: unknown) => unknown,
  });
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DEPRECATION_KEYS: readonly string[] = ["since", "useInstead", "removeAfter"];

function isIsoDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  if (!match) return false;
  const date = new Date(`${text}T00:00:00Z`);
  // Rejects 2026-02-30 and friends: a real calendar day round-trips.
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function resolveDeprecation(
  given: Deprecation | undefined,
  name: string,
  where: string,
): Deprecation | undefined {
  if (given === undefined) return undefined;
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new TypeError(`${where}: deprecated must be an object such as { since: "1.4.0" }.`);
  }
  const unknown = Object.keys(given).filter((key) => !DEPRECATION_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new TypeError(
      `${where}: deprecated has unknown option '${unknown[0]}' (use since, useInstead, removeAfter).`,
    );
  }
  const { since, useInstead, removeAfter } = given as unknown as Record<string, unknown>;
  if (typeof since !== "string" || since.trim() === "") {
    throw new TypeError(
      `${where}: deprecated.since is required: the version or ISO date since which it is deprecated.`,
    );
  }
  if (useInstead !== undefined && (typeof useInstead !== "string" || !TOOL_NAME.test(useInstead))) {
    throw new TypeError(`${where}: deprecated.useInstead must be a tool name.`);
  }
  if (useInstead === name) {
    throw new TypeError(`${where}: deprecated.useInstead names the tool itself.`);
  }
  if (removeAfter !== undefined && (typeof removeAfter !== "string" || !isIsoDate(removeAfter))) {
    throw new TypeError(`${where}: deprecated.removeAfter must be an ISO date (YYYY-MM-DD).`);
  }
  return Object.freeze({
    since: since.trim(),
    ...(useInstead === undefined ? {} : { useInstead }),
    ...(removeAfter === undefined ? {} : { removeAfter }),
  });
}

/** What the model reads at the end of a deprecated tool's description. */
export function deprecationNotice(deprecated: Deprecation): string {
  let notice = `\n\nDEPRECATED since ${deprecated.since}`;
  notice += deprecated.useInstead === undefined ? "." : `: use ${deprecated.useInstead} instead.`;
  if (deprecated.removeAfter !== undefined)
    notice += ` It may be removed after ${deprecated.removeAfter}.`;
  return notice;
}

const BACKEND_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function resolveBackendUses(
  uses: readonly BackendUse[] | undefined,
  where: string,
): ReadonlyMap<string, { readonly scope: readonly string[] | undefined }> {
  const map = new Map<string, { readonly scope: readonly string[] | undefined }>();
  if (uses === undefined) return map;
  if (!Array.isArray(uses))
    throw new TypeError(`${where}: backends must be an array of backend names.`);
  for (const use of uses as unknown[]) {
    const name = typeof use === "string" ? use : (use as { name?: unknown } | null)?.name;
    if (typeof name !== "string" || !BACKEND_NAME.test(name)) {
      throw new TypeError(
        `${where}: backends entries must be a backend name or { name, scope } (1-64 letters, digits, '_', '-', '.').`,
      );
    }
    if (map.has(name)) throw new TypeError(`${where}: backend '${name}' is listed twice.`);
    const scope = typeof use === "string" ? undefined : (use as { scope?: unknown }).scope;
    if (
      scope !== undefined &&
      (!Array.isArray(scope) || !scope.every((s) => typeof s === "string" && SCOPE.test(s)))
    ) {
      throw new TypeError(`${where}: backend '${name}' scope must be an array of scope names.`);
    }
    map.set(
      name,
      Object.freeze({ scope: scope ? Object.freeze([...(scope as string[])]) : undefined }),
    );
  }
  return map;
}

/**
 * Annotations are derived, not forgotten: `readOnlyHint` follows `sideEffect`, so a
 * write tool can never advertise itself as read-only.
 */
function deriveAnnotations(
  spec: ToolSpec<SchemaInput, SchemaInput | undefined>,
  where: string,
  idempotent: boolean,
): ToolAnnotations {
  const given = (spec.annotations ?? {}) as ToolAnnotations;
  if ("readOnlyHint" in given) {
    throw new TypeError(`${where}: readOnlyHint is derived from sideEffect; do not set it.`);
  }
  const annotations: ToolAnnotations = { ...given, readOnlyHint: spec.sideEffect === "read" };
  if (spec.sideEffect === "write") {
    annotations.destructiveHint ??= true;
    // A retry with the same key is harmless once idempotency keys are on.
    annotations.idempotentHint ??= idempotent;
  }
  if (spec.title !== undefined) annotations.title ??= spec.title;
  return annotations;
}

function parseInput(
  raw: unknown,
  validate: (value: unknown) => ValidationOutcome<unknown>,
  zodInput: z.ZodType | undefined,
  keyArgument: boolean,
): ValidationOutcome<unknown> {
  // JSON Schema first: it is the published contract. Then zod, for refinements and
  // transforms that JSON Schema cannot express, and to hand the handler zod's output type.
  // Validate a copy: Ajv writes defaults into what it validates, and the raw arguments
  // must stay exactly as the client sent them (logs and fingerprints depend on it).
  const checked = validate(structuredClone(raw));
  // The key is toolgate's, not the handler's: it never reaches the args or the fingerprint.
  if (checked.ok && keyArgument && typeof checked.value === "object" && checked.value !== null) {
    delete (checked.value as Record<string, unknown>)[IDEMPOTENCY_ARGUMENT];
  }
  if (!checked.ok || !zodInput) return checked;
  const parsed = zodInput.safeParse(checked.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues: FieldIssue[] = parsed.error.issues.map((issue) => ({
    path: toPointer(issue.path),
    message: issue.message,
  }));
  return { ok: false, issues };
}

function toPointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return ""; // RFC 6901: "" is the whole document
  return path.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}
