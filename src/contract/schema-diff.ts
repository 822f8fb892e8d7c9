/**
 * Classifies the differences between two JSON Schemas (2020-12, as toolgate publishes them)
 * by set inclusion, from the point of view of what is already deployed:
 *
 * - an INPUT change is compatible iff every value valid under the old schema is still valid
 *   under the new one (deployed models keep sending old-shaped arguments): a new typed
 *   property on an open object, a required field or a narrower type is breaking;
 * - an OUTPUT change is compatible iff every value valid under the new schema was valid
 *   under the old one (deployed clients validate results against the old published
 *   schema): a new property on a closed object, an object opened to additional properties,
 *   a field no longer always present, a type widened or a new enum value is breaking;
 *   removing an optional field, or narrowing anything, is compatible. The tolerantReader
 *   option relaxes only the first two, for consumers known to ignore unknown fields;
 * - annotations the model reads (description, title, examples, default, deprecated) are
 *   behavioural: validation is unchanged, but the model may now call the tool differently.
 *
 * Schemas are normalized before they are compared, so the same constraints written
 * differently are not a change: `$ref`s to `$defs`/`definitions` are resolved (with a cycle
 * guard), `allOf` is merged into one set of constraints, toolgate's
 * `unevaluatedProperties: false` becomes `additionalProperties: false` once the properties
 * are known, `anyOf`/`oneOf`/type lists become alternatives that are matched one to one,
 * key order does not matter, and keywords that cannot apply to a type are ignored.
 * Patterns are compared with pattern-inclusion.ts (simple loosenings are proven); `not`,
 * `if`/`then`/`else` and other pure assertions added or removed whole narrow or widen
 * (assertion-keywords.ts).
 *
 * What cannot be compared confidently (a changed `not` or `if`/`then`/`else`,
 * `dependentSchemas`, remote `$ref`s, overlapping `oneOf` alternatives, a pattern rewritten
 * beyond the simple loosenings, ...) is reported as breaking whenever it changes, with a
 * message saying it could not be proven compatible: fail safe.
 *
 * The parts live in schema/, each testable on its own terms: side.ts normalizes one
 * schema document (collect.ts merges keywords, finalize.ts builds the nodes; $refs through
 * the resolver shared with the audit redactor, src/schema/walk.ts), compare.ts recurses,
 * the compare-*.ts files hold the variance rules by keyword family, wording.ts the English.
 */
import type { JsonSchema } from "../validation/json-schema.js";
import { compareStrings } from "./schema/canonical.js";
import type { SchemaChange, SchemaDiffOptions, SchemaDirection } from "./schema/change.js";
import { SchemaComparer } from "./schema/compare.js";
import type { ChangeKind } from "./types.js";

export type { SchemaChange, SchemaDiffOptions, SchemaDirection };

/**
 * The changes between two versions of a tool's input or output schema, most relevant first
 * within each path and sorted by path. Identical schemas (also when written in a different
 * key order, or with a field moved into `allOf`) give `[]`.
 */
export function diffSchemas(
  before: JsonSchema,
  after: JsonSchema,
  direction: SchemaDirection,
  options: SchemaDiffOptions = {},
): SchemaChange[] {
  const tolerantReader = options.tolerantReader ?? false;
  if (typeof tolerantReader !== "boolean") {
    throw new TypeError("diffSchemas: options.tolerantReader must be a boolean.");
  }
  const differ = new SchemaComparer(before, after, direction, tolerantReader);
  const changes = differ.compareRaw(before, after, "");
  const seen = new Set<string>();
  const unique = changes.filter((change) => {
    const key = `${change.kind}\u0000${change.path}\u0000${change.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (x, y) =>
      compareStrings(x.path, y.path) ||
      KIND_RANK[x.kind] - KIND_RANK[y.kind] ||
      compareStrings(x.message, y.message),
  );
}

/** Sort rank of a kind: breaking first. */
export const KIND_RANK: Readonly<Record<ChangeKind, number>> = {
  breaking: 0,
  behavioural: 1,
  compatible: 2,
};

/** The most severe kind among some changes, or undefined when there are none. */
export function mostSevere(
  changes: readonly { readonly kind: ChangeKind }[],
): ChangeKind | undefined {
  let worst: ChangeKind | undefined;
  for (const { kind } of changes) {
    if (worst === undefined || KIND_RANK[kind] < KIND_RANK[worst]) worst = kind;
  }
  return worst;
}
