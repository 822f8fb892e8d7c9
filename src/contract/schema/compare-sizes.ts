/** Length and count bounds (minLength/maxLength, minItems/maxItems, minProperties/maxProperties). */
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { range } from "./wording.js";

export function compareCount(
  cx: Comparison,
  path: string,
  minKeyword: string,
  maxKeyword: string,
  minB: number | undefined,
  minA: number | undefined,
  maxB: number | undefined,
  maxA: number | undefined,
  noun: string,
  unit: string,
  out: SchemaChange[],
): void {
  const lowB = minB ?? 0;
  const lowA = minA ?? 0;
  if (lowB !== lowA) {
    const what =
      minB === undefined
        ? `${minKeyword} ${lowA} added`
        : minA === undefined
          ? `${minKeyword} ${lowB} removed`
          : `${minKeyword} ${lowA > lowB ? "raised" : "lowered"} from ${lowB} to ${lowA}`;
    out.push(
      lowA > lowB
        ? cx.constraint(path, what, `${noun} of ${range(lowB, lowA - 1)} ${unit}`, undefined)
        : cx.constraint(path, what, undefined, `${noun} of ${range(lowA, lowB - 1)} ${unit}`),
    );
  }
  if (maxB !== maxA) {
    if (maxB === undefined) {
      out.push(
        cx.constraint(
          path,
          `${maxKeyword} ${maxA} added`,
          `${noun} with more than ${maxA} ${unit}`,
          undefined,
        ),
      );
    } else if (maxA === undefined) {
      out.push(
        cx.constraint(
          path,
          `${maxKeyword} ${maxB} removed`,
          undefined,
          `${noun} with more than ${maxB} ${unit}`,
        ),
      );
    } else if (maxA < maxB) {
      out.push(
        cx.constraint(
          path,
          `${maxKeyword} lowered from ${maxB} to ${maxA}`,
          `${noun} of ${range(maxA + 1, maxB)} ${unit}`,
          undefined,
        ),
      );
    } else {
      out.push(
        cx.constraint(
          path,
          `${maxKeyword} raised from ${maxB} to ${maxA}`,
          undefined,
          `${noun} of ${range(maxB + 1, maxA)} ${unit}`,
        ),
      );
    }
  }
}
