// What a write tool declares about idempotency (`defineTool({ idempotency })`) and the key
// argument it publishes: part of the tool's contract, so it lives with the tool (tool/);
// the stage that enforces it (idempotency/) reads it from here.
import type { JsonSchema } from "../validation/json-schema.js";

/** The tool argument toolgate adds to write tools (last in precedence). */
export const IDEMPOTENCY_ARGUMENT = "idempotency_key";
/** The schema of the injected argument, with a description that makes models reuse keys. */
export const IDEMPOTENCY_ARGUMENT_SCHEMA = Object.freeze({
  type: "string",
  minLength: 1,
  maxLength: 255,
  pattern: "^[\\x20-\\x7E]+$",
  // A model told "unique per request" mints a new key per retry and pays twice.
  description:
    "Idempotency key for this operation: make up a new random value (e.g. a UUID) for each NEW " +
    "operation, and send the SAME value again when you retry the same operation after a " +
    "timeout or error, so it is carried out at most once.",
});

/** Per-tool idempotency settings of a write tool (`defineTool({ idempotency })`). */
export interface IdempotencyOptions {
  /** How long a completed result is replayed. Default 86 400 (24 h). */
  retentionSec?: number;
  /** How long a claim holds before another call may take it over. Default 60, never below the timeout. */
  leaseSec?: number;
  /** How long a duplicate waits for the running call before answering `in_progress`. Default 5000. */
  waitMs?: number;
  /**
   * A call without a key is `invalid_input` (default true). `false` is for legacy tools:
   * the call gets a fresh key (so it is not deduplicated) and a warning is logged.
   */
  required?: boolean;
  /** Add the `idempotency_key` argument to the tool's input schema. Default true. */
  argument?: boolean;
}

export interface ResolvedIdempotency {
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly waitMs: number;
  readonly required: boolean;
  readonly argument: boolean;
}

export function resolveIdempotency(
  option: IdempotencyOptions | false | undefined,
  sideEffect: "read" | "write",
  where: string,
): ResolvedIdempotency | undefined {
  if (option === false) return undefined;
  if (sideEffect === "read") {
    if (option !== undefined)
      throw new TypeError(`${where}: idempotency applies to write tools only.`);
    return undefined;
  }
  const o = option ?? {};
  if (typeof o !== "object" || o === null)
    throw new TypeError(`${where}: idempotency must be an object or false.`);
  const seconds = (value: number | undefined, fallback: number, name: string) => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0)
      throw new TypeError(`${where}: idempotency.${name} must be a positive number.`);
    return Math.round(v * 1000);
  };
  const waitMs = o.waitMs ?? 5000;
  if (!Number.isInteger(waitMs) || waitMs < 0)
    throw new TypeError(`${where}: idempotency.waitMs must be an integer >= 0.`);
  for (const flag of ["required", "argument"] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== "boolean") {
      throw new TypeError(`${where}: idempotency.${flag} must be a boolean.`);
    }
  }
  return Object.freeze({
    retentionMs: seconds(o.retentionSec, 86_400, "retentionSec"),
    leaseMs: seconds(o.leaseSec, 60, "leaseSec"),
    waitMs,
    required: o.required ?? true,
    argument: o.argument ?? true,
  });
}

/**
 * Publishes the `idempotency_key` argument in a write tool's input schema, in `required`
 * too when the tool requires a key: the schema is the contract a model reads. Returns the
 * schema to validate calls against, the same without the key in `required`: the key may
 * come from `_meta["toolgate/idempotency-key"]` or the `Idempotency-Key` header instead,
 * and a call with no key from any source is refused by the idempotency stage (with the
 * same `invalid_input` at `/idempotency_key`).
 */
export function addKeyArgument(
  schema: JsonSchema,
  where: string,
  settings: Pick<ResolvedIdempotency, "required">,
): JsonSchema {
  const properties = (schema["properties"] ??= {}) as Record<string, unknown>;
  if (IDEMPOTENCY_ARGUMENT in properties) {
    throw new TypeError(
      `${where}: '${IDEMPOTENCY_ARGUMENT}' is reserved for the idempotency key of write tools; ` +
        "rename the field or set idempotency: { argument: false }.",
    );
  }
  properties[IDEMPOTENCY_ARGUMENT] = { ...IDEMPOTENCY_ARGUMENT_SCHEMA };
  const validation = structuredClone(schema);
  if (settings.required) {
    const required: unknown = schema["required"];
    schema["required"] = [
      ...(Array.isArray(required) ? (required as unknown[]) : []),
      IDEMPOTENCY_ARGUMENT,
    ];
  }
  return validation;
}
