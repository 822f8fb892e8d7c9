// `${VAR}` and `${VAR:-default}` in string values, from the environment. `$${` is a
// literal `${`. Keys are never interpolated, only values.
import type { Path } from "./yaml-source.js";

/**
 * Stands in for a string whose interpolation failed. The failure is already reported,
 * so the checks that read the value skip it instead of reporting it a second time.
 */
export const UNRESOLVED: unique symbol = Symbol("unresolved");

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type Interpolated =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

/** Default (`:-`) is used when the variable is unset or empty, as in the shell. */
export function interpolate(text: string, env: NodeJS.ProcessEnv): Interpolated {
  if (!text.includes("$")) return { ok: true, value: text };
  let out = "";
  let i = 0;
  const unset: string[] = [];
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== "{") {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const end = text.indexOf("}", dollar + 2);
    if (end < 0) {
      return { ok: false, message: "has a ${ without a closing } (write $${ for a literal ${)" };
    }
    const body = text.slice(dollar + 2, end);
    const split = body.indexOf(":-");
    const name = split < 0 ? body : body.slice(0, split);
    if (!NAME.test(name)) {
      return {
        ok: false,
        message: `\${${body.length > 40 ? `${body.slice(0, 40)}...` : body}} is not a variable reference: use \${NAME} or \${NAME:-default} (and $\${ for a literal \${)`,
      };
    }
    const value = env[name];
    if (split >= 0 && (value === undefined || value === "")) out += body.slice(split + 2);
    else if (value === undefined) unset.push(name);
    else out += value;
    i = end + 1;
  }
  if (unset.length === 1) {
    return { ok: false, message: `environment variable ${unset[0]} is not set` };
  }
  if (unset.length > 1) {
    return { ok: false, message: `environment variables ${unset.join(", ")} are not set` };
  }
  return { ok: true, value: out };
}

/**
 * A copy of `value` with every string interpolated. A string that cannot be is reported
 * at its path and replaced by UNRESOLVED. Mapping keys are kept as they are. A list or
 * mapping that contains itself (a recursive alias) is reported and replaced by UNRESOLVED.
 */
export function interpolateTree(
  value: unknown,
  env: NodeJS.ProcessEnv,
  report: (path: Path, message: string) => void,
): unknown {
  const ancestors = new Set<unknown>();
  const walk = (node: unknown, path: Path): unknown => {
    if (typeof node === "string") {
      const result = interpolate(node, env);
      if (result.ok) return result.value;
      report(path, result.message);
      return UNRESOLVED;
    }
    const isList = Array.isArray(node);
    if (!isList && !isPlainObject(node)) return node;
    if (ancestors.has(node)) {
      report(path, "contains itself (a recursive alias); YAML aliases here must not nest");
      return UNRESOLVED;
    }
    ancestors.add(node);
    try {
      if (isList) return node.map((item: unknown, i) => walk(item, [...path, i]));
      // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    } finally {
      ancestors.delete(node);
    }
  };
  return walk(value, []);
}

/** A mapping from the YAML document (not a Buffer from !!binary or any other object). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
