/**
 * Turns a merged conjunction into a Node: the values its type allows, the schema each
 * property name is validated by (declared, pattern or additional properties together), and
 * opaque keywords as semantic keys. Integer bounds at ±(2^53 - 1), which zod writes for
 * every integer, count as no bound.
 */
import { isSchemaObject } from "../../schema/walk.js";
import { OPAQUE_SEPARATOR } from "../assertion-keywords.js";
import { compareStrings } from "./canonical.js";
import { atomOf } from "./families.js";
import { ALL_ATOMS, pushTo, type Conj, type Node, type Raw, type SideKeys } from "./model.js";

/** zod writes integer bounds of ±(2^53 - 1); beyond them JSON numbers lose precision anyway. */
const SAFE = Number.MAX_SAFE_INTEGER;

export function finalize(c: Conj, keys: SideKeys): Node {
  let atoms = c.atoms && new Set(c.atoms);
  let values = c.values && new Map(c.values);
  if (values) {
    const valueAtoms = new Set([...values.values()].map(atomOf));
    const allowed = new Set([...(atoms ?? ALL_ATOMS)].filter((t) => valueAtoms.has(t)));
    atoms = allowed;
    values = new Map([...values].filter(([, v]) => allowed.has(atomOf(v))));
  }
  const never = c.never || atoms?.size === 0 || values?.size === 0;

  const constraints = [...c.addConstraints];
  const opaqueRaw = new Map([...c.opaque].map(([k, v]) => [k, [...v]]));
  if (c.deferredUneval.length > 0 && !c.evaluatedAll) {
    const names = new Set(c.props.keys());
    const patterns = [...c.patternProps.keys()];
    const modeled =
      !c.unknownEvaluation && [...c.conditionalNames].every((name) => names.has(name));
    for (const schema of c.deferredUneval) {
      if (modeled) constraints.push({ schema, names, patterns });
      else pushTo(opaqueRaw, "unevaluatedProperties", schema);
    }
  }
  const regexes = new Map<string, RegExp | undefined>();
  const matches = (pattern: string, name: string): boolean => {
    if (!regexes.has(pattern)) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(pattern, "u");
      } catch {
        re = undefined;
      }
      regexes.set(pattern, re);
    }
    return regexes.get(pattern)?.test(name) ?? false;
  };
  const effectiveCache = new Map<string, Raw>();
  const effective = (name: string): Raw => {
    const hit = effectiveCache.get(name);
    if (hit !== undefined || effectiveCache.has(name)) return hit;
    const raws = [...(c.props.get(name) ?? [])];
    for (const [pattern, list] of c.patternProps) if (matches(pattern, name)) raws.push(...list);
    for (const k of constraints) {
      if (!k.names.has(name) && !k.patterns.some((p) => matches(p, name))) raws.push(k.schema);
    }
    const result = combine(keys, raws);
    effectiveCache.set(name, result);
    return result;
  };
  const props = new Map<string, Raw>();
  for (const name of [...c.props.keys()].sort(compareStrings)) props.set(name, effective(name));
  const patternProps = new Map<string, Raw>();
  for (const [pattern, list] of c.patternProps) patternProps.set(pattern, combine(keys, list));

  const prefix: Raw[] = c.prefix.map((list, i) =>
    combine(keys, [...list, ...c.itemsFrom.filter((f) => f.from <= i).map((f) => f.schema)]),
  );

  const opaque = new Map<string, string>();
  for (const [key, list] of opaqueRaw) {
    opaque.set(
      key,
      list
        .map((v) => keys.semanticKey(v))
        .sort(compareStrings)
        .join(OPAQUE_SEPARATOR),
    );
  }

  let lower = c.lower;
  let upper = c.upper;
  if (lower && lower.value <= -SAFE && !lower.exclusive) lower = undefined;
  if (upper && upper.value >= SAFE && !upper.exclusive) upper = undefined;

  return {
    never,
    atoms,
    values,
    constOnly: c.sawConst && !c.sawEnum,
    lower,
    upper,
    multipleOf: [...new Set(c.multipleOf)].sort((x, y) => x - y),
    minLength: c.minLength || undefined,
    maxLength: c.maxLength,
    patterns: new Set(c.patterns),
    formats: new Set(c.formats),
    prefix,
    items: combine(
      keys,
      c.itemsFrom.map((f) => f.schema),
    ),
    minItems: c.minItems || undefined,
    maxItems: c.maxItems,
    uniqueItems: c.uniqueItems,
    props,
    required: new Set(c.required),
    additional: combine(
      keys,
      constraints.map((k) => k.schema),
    ),
    patternProps,
    minProperties: c.minProperties || undefined,
    maxProperties: c.maxProperties,
    opaque,
    annotations: new Map([...c.annotations].map(([k, v]) => [k, [...v.values()]])),
    effective,
  };
}

/** allOf of some raw schemas, without duplicates; `true` when there is none. */
function combine(keys: SideKeys, raws: readonly Raw[]): Raw {
  const seen = new Map<string, Raw>();
  for (const raw of raws) {
    if (raw === true || raw === undefined || (isSchemaObject(raw) && Object.keys(raw).length === 0))
      continue;
    if (raw === false) return false;
    const key = keys.canonical(raw);
    if (!seen.has(key)) seen.set(key, raw);
  }
  const list = [...seen.values()];
  if (list.length === 0) return true;
  if (list.length === 1) return list[0];
  return { allOf: list };
}
