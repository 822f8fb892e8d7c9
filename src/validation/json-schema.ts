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

const SUBSCHEMA_MAPS = [
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
];
const SUBSCHEMA_LISTS = ["anyOf", "oneOf", "prefixItems"];
const SUBSCHEMA_SINGLE = [
  "items",
  "additionalItems",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "additionalProperties",
];

/**
 * Unknown properties are rejected unless the schema allows them: every object schema
 * that says nothing about extra properties gets `additionalProperties: false`. Branches
 * of an `allOf` are left open (closing them would reject the other branches' fields);
 * their parent gets `unevaluatedProperties: false` instead.
 */
function closeObjects(node: unknown, inAllOf: boolean): void {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return;
  const schema = node as JsonSchema;
  const saysNothingAboutExtras =
    !("additionalProperties" in schema) &&
    !("unevaluatedProperties" in schema) &&
    !("patternProperties" in schema);
  const isObjectSchema = schema["type"] === "object" || "properties" in schema;
  if (saysNothingAboutExtras && !inAllOf) {
    if (Array.isArray(schema["allOf"])) schema["unevaluatedProperties"] = false;
    else if (isObjectSchema) schema["additionalProperties"] = false;
  }
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (typeof map === "object" && map !== null) {
      for (const child of Object.values(map)) closeObjects(child, false);
    }
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) for (const child of list) closeObjects(child, false);
  }
  if (Array.isArray(schema["allOf"]))
    for (const child of schema["allOf"]) closeObjects(child, true);
  for (const key of SUBSCHEMA_SINGLE) closeObjects(schema[key], false);
}
