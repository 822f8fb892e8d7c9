/**
 * Object keywords. A property's change depends on what each side does with its name when
 * it is not declared (closed object, additional or pattern properties), and, for outputs,
 * on whether consumers are known to ignore unknown fields (tolerantReader).
 */
import { compareStrings } from "./canonical.js";
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { compareCount } from "./compare-sizes.js";
import type { Node } from "./model.js";
import { escapePointer } from "./wording.js";

export function compareObjects(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  const names = new Set([...b.props.keys(), ...a.props.keys(), ...b.required, ...a.required]);
  const unmodeledExtras = [b, a].some((n) => n.opaque.has("unevaluatedProperties"));
  for (const name of [...names].sort(compareStrings)) {
    const p = `${path}/${escapePointer(name)}`;
    const inB = b.props.has(name);
    const inA = a.props.has(name);
    const reqB = b.required.has(name);
    const reqA = a.required.has(name);
    if (inB && inA) out.push(...cx.compareRaw(b.props.get(name), a.props.get(name), p));
    else if ((inB || inA) && unmodeledExtras) {
      // Whether the other side accepts the name depends on what it does not model.
      const verb = inB ? "removed" : "added";
      out.push(cx.unprovable(p, `property ${verb} next to an unevaluatedProperties`));
      continue;
    } else if (inB) {
      propertyRemoved(cx, b, a, name, p, out);
      // A required output property removed is reported there.
      if (cx.dir === "output" && reqB) continue;
    } else if (inA) {
      propertyAdded(cx, b, a, name, p, out);
      // Likewise a new required input property, and any on a closed output object.
      if (cx.dir === "input" ? reqA : cx.before.shape(b.effective(name)) === "never") continue;
    }
    if (reqB === reqA) continue;
    const loc = cx.loc(p);
    if (cx.dir === "input") {
      out.push(
        reqA
          ? {
              kind: "breaking",
              path: p,
              message: `${loc}: now required (callers omitting it now fail)`,
            }
          : {
              kind: "compatible",
              path: p,
              message: `${loc}: no longer required (callers may now omit it)`,
            },
      );
    } else {
      out.push(
        reqB
          ? {
              kind: "breaking",
              path: p,
              message: `${loc}: no longer required, so no longer always present (consumers reading it may find it missing)`,
            }
          : { kind: "compatible", path: p, message: `${loc}: now always present` },
      );
    }
  }

  // Additional properties.
  const sb = cx.before.shape(b.additional);
  const sa = cx.after.shape(a.additional);
  const star = `${path}/*`;
  if (!(sb === "any" && sa === "any") && !(sb === "never" && sa === "never")) {
    if (sa === "never") {
      const declared = [...a.props.keys()].sort(compareStrings);
      out.push(
        cx.constraint(
          star,
          "additional properties are no longer allowed",
          declared.length
            ? `objects with properties other than ${declared.join(", ")}`
            : "objects with any properties",
          undefined,
        ),
      );
    } else if (sb === "never") {
      out.push(
        cx.dir === "input"
          ? cx.constraint(
              star,
              "additional properties are now allowed",
              undefined,
              "properties that are not declared",
            )
          : {
              kind: cx.tolerantReader ? "compatible" : "breaking",
              path: star,
              message: cx.tolerantReader
                ? `${cx.loc(star)}: additional properties are now allowed (compatible because tolerantReader is on: consumers ignore fields they do not know)`
                : `${cx.loc(star)}: additional properties are now allowed (clients that validate results against the published output schema reject results carrying undeclared properties; use tolerantReader if every consumer ignores unknown fields)`,
            },
      );
    } else {
      out.push(...cx.compareRaw(b.additional, a.additional, star));
    }
  }

  // Pattern properties.
  const patterns = new Set([...b.patternProps.keys(), ...a.patternProps.keys()]);
  for (const pattern of [...patterns].sort(compareStrings)) {
    const rb = b.patternProps.get(pattern);
    const ra = a.patternProps.get(pattern);
    if (rb !== undefined && ra !== undefined) out.push(...cx.compareRaw(rb, ra, star));
    else {
      out.push(
        cx.unprovable(
          star,
          `patternProperties ${JSON.stringify(pattern)} ${rb === undefined ? "added" : "removed"}`,
        ),
      );
    }
  }

  compareCount(
    cx,
    path,
    "minProperties",
    "maxProperties",
    b.minProperties,
    a.minProperties,
    b.maxProperties,
    a.maxProperties,
    "objects",
    "properties",
    out,
  );
}

/**
 * A property declared before and not now. What matters is what the new schema does with
 * the name (`effective`: additional or pattern properties): rejects it, allows anything,
 * or checks it against another schema. Inputs: callers still sending it must pass.
 * Outputs: what results may now carry under that name must have been valid before.
 */
export function propertyRemoved(
  cx: Comparison,
  b: Node,
  a: Node,
  name: string,
  p: string,
  out: SchemaChange[],
): void {
  const loc = cx.loc(p);
  const now = a.effective(name);
  const shape = cx.after.shape(now);
  const was = b.props.get(name);
  if (cx.dir === "output") {
    if (b.required.has(name) && (shape === "never" || !a.required.has(name))) {
      out.push({
        kind: "breaking",
        path: p,
        message:
          shape === "never"
            ? `${loc}: property removed (consumers reading it will no longer find it)`
            : `${loc}: property removed from the schema, so no longer always present (consumers reading it may find it missing)`,
      });
    }
    if (shape === "never") {
      if (!b.required.has(name)) {
        out.push({
          kind: "compatible",
          path: p,
          message: `${loc}: optional property removed (results no longer carry it; consumers already had to handle its absence)`,
        });
      }
      return;
    }
    out.push(...cx.compareRaw(was, now, p));
    out.push({
      kind: "compatible",
      path: p,
      message: `${loc}: property removed from the schema; results may still carry it, checked only against the schema for additional properties`,
    });
    return;
  }
  if (shape === "never") {
    out.push({
      kind: "breaking",
      path: p,
      message: `${loc}: property removed while additional properties are not allowed (callers still sending it now fail)`,
    });
  } else if (shape === "any") {
    out.push({
      kind: "behavioural",
      path: p,
      message: `${loc}: property removed from the schema; additional properties are allowed, so callers sending it still pass validation, but the tool presumably ignores it now`,
    });
  } else {
    out.push(...cx.compareRaw(was, now, p));
    out.push({
      kind: "behavioural",
      path: p,
      message: `${loc}: property removed from the schema; it is now only checked against the schema for additional properties`,
    });
  }
}

/**
 * A property declared now and not before. When the old schema rejected the name (a
 * closed object), inputs gain a value and outputs may now carry one the old schema
 * rejects; otherwise the old schema already accepted the name (as an additional or
 * pattern property), and its old and new schemas are compared like any other change.
 */
export function propertyAdded(
  cx: Comparison,
  b: Node,
  a: Node,
  name: string,
  p: string,
  out: SchemaChange[],
): void {
  const loc = cx.loc(p);
  const now = a.props.get(name);
  const was = b.effective(name);
  const closed = cx.before.shape(was) === "never";
  const required = a.required.has(name);
  const optional = required ? "" : "optional ";
  if (cx.dir === "input") {
    if (required && !b.required.has(name)) {
      out.push({
        kind: "breaking",
        path: p,
        message: `${loc}: new required property (callers omitting it now fail)`,
      });
      if (closed) return;
    }
    if (!closed) out.push(...cx.compareRaw(was, now, p));
    out.push({
      kind: "compatible",
      path: p,
      message: closed
        ? `${loc}: new ${optional}property (callers may now send it)`
        : `${loc}: new ${optional}property; the object already accepted it as an additional property, so this schema now applies to callers already sending it`,
    });
    return;
  }
  if (!closed) {
    out.push(...cx.compareRaw(was, now, p));
    out.push({
      kind: "compatible",
      path: p,
      message: `${loc}: new ${optional}property (the object already allowed it as an additional property)`,
    });
  } else if (cx.after.shape(now) === "never") {
    // Declared as `false`: results still cannot carry it.
  } else if (cx.tolerantReader) {
    out.push({
      kind: "compatible",
      path: p,
      message: `${loc}: new ${optional}property on an object that did not allow additional properties (compatible because tolerantReader is on: consumers ignore fields they do not know)`,
    });
  } else {
    out.push({
      kind: "breaking",
      path: p,
      message: `${loc}: new ${optional}property on an object that did not allow additional properties (clients that validate results against the published output schema reject results carrying it; use tolerantReader if every consumer ignores unknown fields)`,
    });
  }
}
