/**
 * Number bounds and `multipleOf`. For integers a bound is compared as the integer it
 * admits (see families.ts), so `exclusiveMinimum: 0` and `minimum: 1` are the same.
 */
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { isIntOnly } from "./families.js";
import type { Bound, Node } from "./model.js";
import { range } from "./wording.js";

export function compareNumbers(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  const intOnly = isIntOnly(b) && isIntOnly(a);
  const noun = intOnly ? "integers" : "numbers";
  const label = (x: Bound, kind: "min" | "max") =>
    `${kind === "min" ? (x.exclusive ? "exclusiveMinimum" : "minimum") : x.exclusive ? "exclusiveMaximum" : "maximum"} ${x.value}`;
  const sameKeyword = (x: Bound, y: Bound) => x.exclusive === y.exclusive;
  const between = (from: number, to: number) =>
    intOnly ? range(from, to) : `values between ${from} and ${to}`;

  // Lower bound.
  const lb = b.lower;
  const la = a.lower;
  if (lb && !la) {
    out.push(
      cx.constraint(
        path,
        `${label(lb, "min")} removed`,
        undefined,
        `${noun} ${lb.exclusive ? "of" : "below"} ${lb.value}${lb.exclusive ? " or less" : ""}`,
      ),
    );
  } else if (!lb && la) {
    out.push(
      cx.constraint(
        path,
        `${label(la, "min")} added`,
        `${noun} ${la.exclusive ? "of" : "below"} ${la.value}${la.exclusive ? " or less" : ""}`,
        undefined,
      ),
    );
  } else if (lb && la && (lb.value !== la.value || lb.exclusive !== la.exclusive)) {
    const raised = la.value > lb.value || (la.value === lb.value && la.exclusive);
    const what = sameKeyword(lb, la)
      ? `${label(lb, "min").split(" ")[0]} ${raised ? "raised" : "lowered"} from ${lb.value} to ${la.value}`
      : `lower bound ${raised ? "raised" : "lowered"} from ${label(lb, "min")} to ${label(la, "min")}`;
    if (raised) {
      out.push(
        cx.constraint(path, what, between(lb.value, intOnly ? la.value - 1 : la.value), undefined),
      );
    } else {
      out.push(
        cx.constraint(path, what, undefined, between(la.value, intOnly ? lb.value - 1 : lb.value)),
      );
    }
  }

  // Upper bound.
  const ub = b.upper;
  const ua = a.upper;
  if (ub && !ua) {
    out.push(
      cx.constraint(
        path,
        `${label(ub, "max")} removed`,
        undefined,
        `${noun} ${ub.exclusive ? "of" : "above"} ${ub.value}${ub.exclusive ? " or more" : ""}`,
      ),
    );
  } else if (!ub && ua) {
    out.push(
      cx.constraint(
        path,
        `${label(ua, "max")} added`,
        `${noun} ${ua.exclusive ? "of" : "above"} ${ua.value}${ua.exclusive ? " or more" : ""}`,
        undefined,
      ),
    );
  } else if (ub && ua && (ub.value !== ua.value || ub.exclusive !== ua.exclusive)) {
    const lowered = ua.value < ub.value || (ua.value === ub.value && ua.exclusive);
    const what = sameKeyword(ub, ua)
      ? `${label(ub, "max").split(" ")[0]} ${lowered ? "lowered" : "raised"} from ${ub.value} to ${ua.value}`
      : `upper bound ${lowered ? "lowered" : "raised"} from ${label(ub, "max")} to ${label(ua, "max")}`;
    if (lowered) {
      out.push(
        cx.constraint(path, what, between(intOnly ? ua.value + 1 : ua.value, ub.value), undefined),
      );
    } else {
      out.push(
        cx.constraint(path, what, undefined, between(intOnly ? ub.value + 1 : ub.value, ua.value)),
      );
    }
  }

  // multipleOf: a constraint m is implied by an old one k when every multiple of k is one of m.
  const implied = (m: number, by: readonly number[]) => by.some((k) => isMultiple(k, m));
  const tighter = a.multipleOf.filter((m) => !implied(m, b.multipleOf));
  const looser = b.multipleOf.filter((m) => !implied(m, a.multipleOf));
  if (tighter.length > 0 || looser.length > 0) {
    const what =
      b.multipleOf.length === 0
        ? `multipleOf ${a.multipleOf.join(", ")} added`
        : a.multipleOf.length === 0
          ? `multipleOf ${b.multipleOf.join(", ")} removed`
          : `multipleOf changed from ${b.multipleOf.join(", ")} to ${a.multipleOf.join(", ")}`;
    out.push(
      cx.constraint(
        path,
        what,
        tighter.length ? `numbers that are not multiples of ${tighter.join(" and ")}` : undefined,
        looser.length ? `numbers that are not multiples of ${looser.join(" and ")}` : undefined,
      ),
    );
  }
}

function isMultiple(k: number, m: number): boolean {
  const q = k / m;
  return Math.abs(q - Math.round(q)) < 1e-9;
}
