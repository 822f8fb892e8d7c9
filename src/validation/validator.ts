import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { Ajv as AjvDraft07 } from "ajv/dist/ajv.js";
import * as formatsModule from "ajv-formats";
import type { FieldIssue } from "../errors/tool-error.js";
import type { JsonSchema } from "./json-schema.js";

export type ValidationOutcome<T> =
  | { ok: true; value: T }
  /** `message`: the whole refusal in the definition's own words (prompts), instead of a summary. */
  | { ok: false; issues: FieldIssue[]; message?: string };

export interface CompiledValidator {
  readonly schema: JsonSchema;
  readonly validate: (value: unknown) => ValidationOutcome<unknown>;
}

// ajv-formats is CommonJS; depending on the loader its plugin is the module or its default.
const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

let shared: Ajv2020 | undefined;
let sharedDraft07: AjvDraft07 | undefined;

const AJV_OPTIONS = {
  allErrors: true,
  // Tool schemas may carry annotations Ajv does not know (e.g. `sensitive`); keep them.
  strict: false,
  useDefaults: true,
  coerceTypes: false,
  validateFormats: true,
} as const;

/**
 * One Ajv instance for the process: compiled validators are cached by the schema object,
 * and tools compile once at definition time, never per call.
 */
function ajv(): Ajv2020 {
  if (shared) return shared;
  shared = new Ajv2020(AJV_OPTIONS);
  addFormats(shared);
  return shared;
}

/**
 * Schemas written for draft-07 (or 06), as many MCP servers publish (zod 3 converters
 * declare it), compile with a draft-07 Ajv: its tuple `items` and `dependencies` mean
 * something else in 2020-12. Every other schema is read as 2020-12, MCP's default dialect.
 */
function ajvFor(schema: JsonSchema): Ajv2020 | AjvDraft07 {
  const dialect = schema["$schema"];
  if (typeof dialect === "string" && /draft-0[67]\/schema/.test(dialect)) {
    if (!sharedDraft07) {
      sharedDraft07 = new AjvDraft07(AJV_OPTIONS);
      addFormats(sharedDraft07);
    }
    return sharedDraft07;
  }
  return ajv();
}

export function compileValidator(schema: JsonSchema, where: string): CompiledValidator {
  let validateFn: ValidateFunction;
  try {
    validateFn = ajvFor(schema).compile(schema);
  } catch (error) {
    throw new TypeError(`${where} is not a valid JSON Schema: ${(error as Error).message}`);
  }
  return {
    schema,
    validate(value) {
      if (validateFn(value)) return { ok: true, value };
      return { ok: false, issues: toIssues(validateFn.errors ?? [], schema) };
    },
  };
}

/** Ajv errors -> field issues with JSON Pointer paths, one per bad field, most specific first. */
export function toIssues(errors: readonly ErrorObject[], root: JsonSchema): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // anyOf/oneOf report each branch and then a summary; the summary is what a model can act on.
    const issue = toIssue(error, root);
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

function toIssue(error: ErrorObject, root: JsonSchema): FieldIssue {
  const params = error.params as Record<string, unknown>;
  const base = error.instancePath;
  switch (error.keyword) {
    case "required": {
      const path = `${base}/${escapePointer(String(params["missingProperty"]))}`;
      return withExpected(
        { path, message: "is required" },
        describeAt(root, error.schemaPath, params["missingProperty"]),
      );
    }
    case "additionalProperties":
    case "unevaluatedProperties": {
      const name = String(params["additionalProperty"] ?? params["unevaluatedProperty"]);
      return {
        path: `${base}/${escapePointer(name)}`,
        message: "is not an allowed property; remove it",
      };
    }
    case "type":
      return {
        path: base,
        message: `must be ${article(String(params["type"]))}`,
        expected: String(params["type"]),
      };
    case "enum": {
      const allowed = (params["allowedValues"] as unknown[])
        .map((v) => JSON.stringify(v))
        .join(", ");
      return {
        path: base,
        message: `must be one of ${allowed}`,
        expected: `one of ${allowed}`,
      };
    }
    case "const":
      return { path: base, message: `must be ${JSON.stringify(params["allowedValue"])}` };
    case "pattern": {
      // The property's description (written for the model) says the format in words.
      const description = describeParent(root, error.schemaPath);
      const pattern = `a string matching ${String(params["pattern"])}`;
      return {
        path: base,
        message: "does not have the expected format",
        expected: description ? `${description}; ${pattern}` : pattern,
      };
    }
    case "format":
      return {
        path: base,
        message: `must be a valid ${String(params["format"])}`,
        expected: String(params["format"]),
      };
    default:
      return withExpected(
        { path: base, message: error.message ?? "is invalid" },
        describeParent(root, error.schemaPath),
      );
  }
}

/** Adds the property's own description to `expected`: schema authors write it for the model. */
function withExpected(issue: FieldIssue, description: string | undefined): FieldIssue {
  if (!description) return issue;
  return {
    ...issue,
    expected: issue.expected ? `${issue.expected} (${description})` : description,
  };
}

function describeParent(root: JsonSchema, schemaPath: string): string | undefined {
  // "#/properties/order_id/pattern" -> the schema at "#/properties/order_id"
  const node = resolve(root, schemaPath.split("/").slice(1, -1));
  return typeof node?.["description"] === "string" ? node["description"] : undefined;
}

function describeAt(root: JsonSchema, schemaPath: string, property: unknown): string | undefined {
  // "#/required" -> "#/properties/<property>"
  const parent = resolve(root, schemaPath.split("/").slice(1, -1));
  const props = parent?.["properties"] as Record<string, JsonSchema> | undefined;
  const node = props?.[String(property)];
  return typeof node?.["description"] === "string" ? node["description"] : undefined;
}

function resolve(root: JsonSchema, segments: string[]): JsonSchema | undefined {
  let node: unknown = root;
  for (const raw of segments) {
    const segment = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return typeof node === "object" && node !== null ? (node as JsonSchema) : undefined;
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
