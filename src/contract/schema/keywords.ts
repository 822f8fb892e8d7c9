/** How the normalizer treats each JSON Schema keyword it does not merge itself (collect.ts). */
import { isSchemaObject } from "../../schema/walk.js";
import type { Raw } from "./model.js";

export const IGNORED = new Set([
  "$schema",
  "$id",
  "$anchor",
  "$dynamicAnchor",
  "$comment",
  "$vocabulary",
  "$defs",
  "definitions",
]);
/** Keywords toolgate does not model: compared for equality, and breaking when they differ. */
export const OPAQUE = new Set([
  "not",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependentRequired",
  "dependencies",
  "propertyNames",
  "contains",
  "minContains",
  "maxContains",
  "unevaluatedItems",
  "$dynamicRef",
  "$recursiveRef",
]);
/** Opaque keywords that evaluate properties in ways unevaluatedProperties would depend on. */
export const UNKNOWN_EVALUATION = new Set([
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependencies",
  "$dynamicRef",
  "$recursiveRef",
]);
export const CONDITIONAL = new Set(["if", "then", "else"]);
/** Keywords through which an if/then/else subschema would evaluate more than `properties`. */
export const EVALUATING = [
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "if",
  "then",
  "else",
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "dependentSchemas",
  "dependencies",
];
export const ARRAY_ONLY_OPAQUE = ["contains", "minContains", "maxContains", "unevaluatedItems"];
export const OBJECT_ONLY_OPAQUE = [
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "unevaluatedProperties",
];

/**
 * The property names an if/then/else subschema evaluates when it evaluates them only
 * through `properties`; undefined when it may evaluate others.
 */
export function conditionalNames(schema: Raw): string[] | undefined {
  if (typeof schema === "boolean") return [];
  if (!isSchemaObject(schema) || EVALUATING.some((key) => key in schema)) return undefined;
  const properties = schema["properties"];
  if (properties === undefined) return [];
  return isSchemaObject(properties) ? Object.keys(properties) : undefined;
}
