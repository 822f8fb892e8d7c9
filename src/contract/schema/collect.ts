/**
 * Merges one schema object's keywords, and through `$ref` and `allOf` its subschemas',
 * into one conjunction (model.ts): the same constraints written differently (a field moved
 * into `allOf`, a `$ref` to `$defs`) become the same conjunction. Keywords it cannot merge
 * are kept as opaque values, compared for equality only.
 */
import { isSchemaObject } from "../../schema/walk.js";
import { atomsOfType, isTypeName } from "./families.js";
import { CONDITIONAL, conditionalNames, OPAQUE, UNKNOWN_EVALUATION, IGNORED } from "./keywords.js";
import {
  pushTo,
  type Atom,
  type Bound,
  type Conj,
  type Evaluated,
  type Raw,
  type SideKeys,
} from "./model.js";

/** Adds one schema object's keywords (and, through $ref and allOf, its subschemas') to conj. */
export function collect(
  raw: Raw,
  conj: Conj,
  keys: SideKeys,
  refStack: readonly string[],
  top: boolean,
): Evaluated {
  const ev: Evaluated = {
    names: new Set(),
    patterns: [],
    all: false,
    unknown: false,
    conditional: new Set(),
    union: false,
  };
  if (raw === true || raw === undefined) return ev;
  if (raw === false) {
    conj.never = true;
    return ev;
  }
  if (!isSchemaObject(raw)) {
    addOpaque(conj, "(invalid schema)", raw);
    return ev;
  }
  // Own keywords first, so this object's annotations win over those of its $ref and allOf.
  for (const [key, value] of Object.entries(raw)) {
    if (IGNORED.has(key)) continue;
    switch (key) {
      case "type": {
        const names =
          typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
        if (!names || !names.every((n) => typeof n === "string" && isTypeName(n))) {
          addOpaque(conj, key, value);
          break;
        }
        const atoms = new Set<Atom>((names as string[]).flatMap(atomsOfType));
        conj.atoms = conj.atoms ? new Set([...conj.atoms].filter((t) => atoms.has(t))) : atoms;
        break;
      }
      case "enum":
      case "const": {
        if (key === "enum" && !Array.isArray(value)) {
          addOpaque(conj, key, value);
          break;
        }
        const list = key === "enum" ? (value as unknown[]) : [value];
        const values = new Map(list.map((v) => [keys.canonical(v), v] as const));
        conj.values = conj.values
          ? new Map([...conj.values].filter(([k]) => values.has(k)))
          : values;
        if (key === "enum") conj.sawEnum = true;
        else conj.sawConst = true;
        break;
      }
      case "minimum":
      case "exclusiveMinimum":
      case "maximum":
      case "exclusiveMaximum": {
        if (typeof value !== "number") {
          addOpaque(conj, key, value);
          break;
        }
        const bound = { value, exclusive: key.startsWith("exclusive") };
        if (key.endsWith("inimum")) {
          if (!conj.lower || stricterLower(bound, conj.lower)) conj.lower = bound;
        } else if (!conj.upper || stricterUpper(bound, conj.upper)) conj.upper = bound;
        break;
      }
      case "multipleOf":
        if (typeof value === "number" && value > 0) conj.multipleOf.push(value);
        else addOpaque(conj, key, value);
        break;
      case "minLength":
      case "minItems":
      case "minProperties":
        if (typeof value === "number") conj[key] = Math.max(conj[key] ?? 0, value);
        else addOpaque(conj, key, value);
        break;
      case "maxLength":
      case "maxItems":
      case "maxProperties":
        if (typeof value === "number") conj[key] = Math.min(conj[key] ?? Infinity, value);
        else addOpaque(conj, key, value);
        break;
      case "pattern":
      case "format":
        if (typeof value === "string")
          (key === "pattern" ? conj.patterns : conj.formats).push(value);
        else addOpaque(conj, key, value);
        break;
      case "uniqueItems":
        if (value === true) conj.uniqueItems = true;
        else if (value !== false) addOpaque(conj, key, value);
        break;
      case "prefixItems":
        if (Array.isArray(value)) addPrefix(conj, value);
        else addOpaque(conj, key, value);
        break;
      case "items":
        if (Array.isArray(value)) {
          // draft-07 tuple form: items[] are positions, additionalItems the rest.
          addPrefix(conj, value);
          if ("additionalItems" in raw)
            conj.itemsFrom.push({ schema: raw["additionalItems"], from: value.length });
        } else {
          const from = Array.isArray(raw["prefixItems"]) ? raw["prefixItems"].length : 0;
          conj.itemsFrom.push({ schema: value, from });
        }
        break;
      case "additionalItems":
        if (!Array.isArray(raw["items"])) addOpaque(conj, key, value);
        break;
      case "properties":
        if (isSchemaObject(value)) {
          for (const [name, schema] of Object.entries(value)) {
            pushTo(conj.props, name, schema);
            ev.names.add(name);
          }
        } else addOpaque(conj, key, value);
        break;
      case "patternProperties":
        if (isSchemaObject(value)) {
          for (const [pattern, schema] of Object.entries(value)) {
            pushTo(conj.patternProps, pattern, schema);
            ev.patterns.push(pattern);
          }
        } else addOpaque(conj, key, value);
        break;
      case "required":
        if (Array.isArray(value) && value.every((n): n is string => typeof n === "string")) {
          for (const name of value) conj.required.add(name);
        } else addOpaque(conj, key, value);
        break;
      case "$ref":
      case "allOf":
      case "anyOf":
      case "oneOf":
      case "additionalProperties":
      case "unevaluatedProperties":
        break; // below, once the own keywords are known
      default:
        if (OPAQUE.has(key)) {
          addOpaque(conj, key, value);
          const names = CONDITIONAL.has(key) ? conditionalNames(value) : undefined;
          if (names) {
            for (const name of names) ev.conditional.add(name);
            for (const name of names) conj.conditionalNames.add(name);
          } else if (UNKNOWN_EVALUATION.has(key)) {
            ev.unknown = true;
            conj.unknownEvaluation = true;
          }
        } else {
          let values = conj.annotations.get(key);
          if (!values) conj.annotations.set(key, (values = new Map<string, unknown>()));
          values.set(keys.canonical(value), value);
        }
    }
  }
  const merge = (sub: Evaluated) => {
    for (const name of sub.names) ev.names.add(name);
    ev.patterns.push(...sub.patterns);
    for (const name of sub.conditional) ev.conditional.add(name);
    ev.all ||= sub.all;
    ev.unknown ||= sub.unknown;
    ev.union ||= sub.union;
  };
  const ref = raw["$ref"];
  if (ref !== undefined) {
    const followed = keys.refs.follow(ref, refStack);
    if (followed === undefined) {
      addOpaque(conj, "$ref", ref);
      ev.unknown = true;
      conj.unknownEvaluation = true;
    } else {
      merge(collect(followed.target, conj, keys, followed.stack, false));
    }
  }
  const allOf = raw["allOf"];
  if (allOf !== undefined) {
    if (Array.isArray(allOf))
      for (const sub of allOf) merge(collect(sub, conj, keys, refStack, false));
    else addOpaque(conj, "allOf", allOf);
  }
  for (const kind of ["anyOf", "oneOf"] as const) {
    const list = raw[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) {
      addOpaque(conj, kind, list);
      continue;
    }
    if (list.length === 1) merge(collect(list[0], conj, keys, refStack, false));
    else {
      conj.unions.push({ kind, branches: list });
      ev.union = true;
    }
  }
  const additional = raw["additionalProperties"];
  if (additional !== undefined && additional !== true) {
    conj.addConstraints.push({
      schema: additional,
      names: new Set(isSchemaObject(raw["properties"]) ? Object.keys(raw["properties"]) : []),
      patterns: isSchemaObject(raw["patternProperties"])
        ? Object.keys(raw["patternProperties"])
        : [],
    });
  }
  if (additional !== undefined) {
    ev.all = true;
    conj.evaluatedAll = true;
  }
  const unevaluated = raw["unevaluatedProperties"];
  if (unevaluated !== undefined && unevaluated !== true && !ev.all) {
    if (ev.unknown) addOpaque(conj, "unevaluatedProperties", unevaluated);
    else if (ev.union) {
      // Which properties the alternatives evaluate is known once they are distributed.
      if (top) conj.deferredUneval.push(unevaluated);
      else addOpaque(conj, "unevaluatedProperties", unevaluated);
    } else if ([...ev.conditional].some((name) => !ev.names.has(name))) {
      // A conditional evaluates a property only when it passes: not modeled.
      addOpaque(conj, "unevaluatedProperties", unevaluated);
    } else {
      conj.addConstraints.push({
        schema: unevaluated,
        names: new Set(ev.names),
        patterns: [...ev.patterns],
      });
    }
  }
  if (unevaluated !== undefined) {
    const deferred = unevaluated !== true && !ev.all && !ev.unknown && ev.union && top;
    ev.all = true;
    if (!deferred) conj.evaluatedAll = true;
  }
  return ev;
}

function addOpaque(conj: Conj, key: string, value: unknown): void {
  pushTo(conj.opaque, key, value);
}

function addPrefix(conj: Conj, list: readonly Raw[]): void {
  list.forEach((schema, i) => {
    while (conj.prefix.length <= i) conj.prefix.push([]);
    conj.prefix[i]!.push(schema);
  });
}

function stricterLower(x: Bound, y: Bound): boolean {
  return x.value > y.value || (x.value === y.value && x.exclusive && !y.exclusive);
}

function stricterUpper(x: Bound, y: Bound): boolean {
  return x.value < y.value || (x.value === y.value && x.exclusive && !y.exclusive);
}
