/**
 * Type families of normalized nodes: which JSON types a node admits (integers and other
 * numbers apart, as `integer` and `number` differ), and splitting a node into one node
 * per family without the keywords that cannot apply to it.
 */
import { ARRAY_ONLY_OPAQUE, OBJECT_ONLY_OPAQUE } from "./keywords.js";
import { FAMILIES, type Atom, type Family, type Node } from "./model.js";

export function isTypeName(name: string): boolean {
  return ["null", "boolean", "object", "array", "number", "integer", "string"].includes(name);
}

export function atomsOfType(name: string): Atom[] {
  if (name === "number") return ["int", "frac"];
  if (name === "integer") return ["int"];
  return [name as Atom];
}

export function atomOf(value: unknown): Atom {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "boolean":
      return "boolean";
    case "number":
      return Number.isInteger(value) ? "int" : "frac";
    case "string":
      return "string";
    default:
      return "object";
  }
}

export function familyOf(atom: Atom): Family {
  return atom === "int" || atom === "frac" ? "number" : atom;
}

export function familiesOf(atoms: ReadonlySet<Atom>): Family[] {
  return FAMILIES.filter((f) => [...atoms].some((t) => familyOf(t) === f));
}

export function familyKey(node: Node): string {
  if (!node.atoms) return "any";
  return familiesOf(node.atoms).join("|");
}

export function relevant(node: Node, family: Family): boolean {
  return !node.atoms || [...node.atoms].some((t) => familyOf(t) === family);
}

export function isIntOnly(node: Node): boolean {
  return node.atoms !== undefined && node.atoms.has("int") && !node.atoms.has("frac");
}

export function isNullOnly(node: Node): boolean {
  return node.atoms !== undefined && node.atoms.size === 1 && node.atoms.has("null");
}

/** No constraint at all (annotations aside); with `exceptValues`, none but type and values. */
export function isUnconstrained(node: Node, exceptValues = false): boolean {
  return (
    !node.never &&
    (exceptValues || (!node.atoms && !node.values)) &&
    !node.lower &&
    !node.upper &&
    node.multipleOf.length === 0 &&
    node.minLength === undefined &&
    node.maxLength === undefined &&
    node.patterns.size === 0 &&
    node.formats.size === 0 &&
    node.prefix.length === 0 &&
    node.items === true &&
    node.minItems === undefined &&
    node.maxItems === undefined &&
    !node.uniqueItems &&
    node.props.size === 0 &&
    node.required.size === 0 &&
    node.additional === true &&
    node.patternProps.size === 0 &&
    node.minProperties === undefined &&
    node.maxProperties === undefined &&
    node.opaque.size === 0
  );
}

/** One alternative per type family, each without the keywords that cannot apply to it. */
export function splitByFamily(node: Node): Node[] {
  if (node.never || !node.atoms) return [node];
  return familiesOf(node.atoms).map((family) => prune(node, family));
}

export function prune(node: Node, family: Family): Node {
  const atoms = new Set([...node.atoms!].filter((t) => familyOf(t) === family));
  const values = node.values && new Map([...node.values].filter(([, v]) => atoms.has(atomOf(v))));
  const opaque = new Map(node.opaque);
  const n: { -readonly [K in keyof Node]: Node[K] } = {
    ...node,
    atoms,
    values,
    never: node.never || values?.size === 0,
    opaque,
  };
  if (family === "number") {
    if (atoms.has("int") && !atoms.has("frac")) {
      // For integers, exclusiveMinimum 0 is minimum 1 and minimum 0.5 is minimum 1.
      if (n.lower)
        n.lower = {
          value: n.lower.exclusive ? Math.floor(n.lower.value) + 1 : Math.ceil(n.lower.value),
          exclusive: false,
        };
      if (n.upper)
        n.upper = {
          value: n.upper.exclusive ? Math.ceil(n.upper.value) - 1 : Math.floor(n.upper.value),
          exclusive: false,
        };
    }
  } else {
    n.lower = undefined;
    n.upper = undefined;
    n.multipleOf = [];
  }
  if (family !== "string") {
    n.minLength = undefined;
    n.maxLength = undefined;
    n.patterns = new Set();
    if (family !== "number") n.formats = new Set();
  }
  if (family !== "array") {
    n.prefix = [];
    n.items = true;
    n.minItems = undefined;
    n.maxItems = undefined;
    n.uniqueItems = false;
    for (const key of ARRAY_ONLY_OPAQUE) opaque.delete(key);
    opaque.delete("additionalItems");
  }
  if (family !== "object") {
    n.props = new Map();
    n.required = new Set();
    n.additional = true;
    n.patternProps = new Map();
    n.minProperties = undefined;
    n.maxProperties = undefined;
    for (const key of OBJECT_ONLY_OPAQUE) opaque.delete(key);
  }
  return n;
}
