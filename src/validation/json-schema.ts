import * as z from "zod";

export type JsonSchema = Record<string, unknown>;

/** A zod schema (v4, classic or mini) or a plain JSON Schema object. */
export type SchemaInput = z.ZodType | JsonSchema;

export function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && "_zod" in value;
}

/**
 * Converts a tool's schema to the JSON Schema that is both published in `tools/list`
 * and compiled for validation, so the two can never disagree. Zod schemas are
 * converted once, at definition time.
 */
export function toJsonSchema(
  schema: SchemaInput,
  io: "input" | "output",
  where: string,
): JsonSchema {
  let json: JsonSchema;
  if (isZodSchema(schema)) {
    try {
      json = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "throw" });
    } catch (error) {
      throw new TypeError(
        `${where}: the zod schema cannot be expressed as JSON Schema (${(error as Error).message}).`,
      );
    }
    delete json["$schema"];
  } else if (typeof schema === "object" && schema !== null && !Array.isArray(schema)) {
    json = structuredClone(schema);
  } else {
    throw new TypeError(`${where} must be a zod schema or a JSON Schema object.`);
  }
  if (json["type"] !== "object") {
    // MCP requires tool input and output schemas to describe an object at the root.
    throw new TypeError(`${where} must describe an object (JSON Schema "type": "object").`);
  }
  closeObjects(json, false);
  return json;
}

// Children that are schemas of their own instance location: closed like any object schema.
const OWN_MAPS = ["properties", "patternProperties", "dependentSchemas"];
const OWN_LISTS = ["prefixItems"];
const OWN_SINGLE = [
  "items",
  "additionalItems",
  "contains",
  "additionalProperties",
  "unevaluatedProperties",
];
// Children that describe the SAME instance as their parent (applicators) or are only
// reached through `$ref`: they stay open, and the place that uses them is closed with
// `unevaluatedProperties: false`, which sees the properties every successful branch evaluated.
const SHARED_LISTS = ["allOf", "anyOf", "oneOf"];
const SHARED_SINGLE = ["then", "else"];
// `if` and `not` are conditions: closing anything inside them would change which inputs
// they match, so they are left exactly as written.
const SHARED_MAPS = ["$defs", "definitions"];
const APPLICATORS = ["allOf", "anyOf", "oneOf", "if", "$ref", "$dynamicRef"];

/**
 * Unknown properties are rejected unless the schema allows them: every object schema
 * that says nothing about extra properties is closed. A plain object schema gets
 * `additionalProperties: false`; one that combines subschemas (`allOf`, `anyOf`,
 * `oneOf`, `if`, `$ref`) gets `unevaluatedProperties: false` instead, because closing
 * each branch would make a branch reject the properties of the others.
 */
function closeObjects(node: unknown, open: boolean): void {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return;
  const schema = node as JsonSchema;
  const saysNothingAboutExtras =
    !("additionalProperties" in schema) &&
    !("unevaluatedProperties" in schema) &&
    !("patternProperties" in schema);
  if (saysNothingAboutExtras && !open) {
    if (APPLICATORS.some((key) => key in schema)) schema["unevaluatedProperties"] = false;
    else if (schema["type"] === "object" || "properties" in schema)
      schema["additionalProperties"] = false;
  }
  const each = (keys: string[], childrenOpen: boolean, kind: "map" | "list" | "single") => {
    for (const key of keys) {
      const value = schema[key];
      if (kind === "single") closeObjects(value, childrenOpen);
      else if (kind === "list" && Array.isArray(value))
        for (const child of value) closeObjects(child, childrenOpen);
      else if (kind === "map" && typeof value === "object" && value !== null) {
        for (const child of Object.values(value)) closeObjects(child, childrenOpen);
      }
    }
  };
  each(OWN_MAPS, false, "map");
  each(OWN_LISTS, false, "list");
  each(OWN_SINGLE, false, "single");
  each(SHARED_LISTS, true, "list");
  each(SHARED_SINGLE, true, "single");
  each(SHARED_MAPS, true, "map");
}
