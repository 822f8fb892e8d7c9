// Durations in the config file: `500ms`, `10s`, `2m`, `1h`, or an integer number of
// milliseconds. Every duration in the file becomes a `...Ms` option of GatewayOptions.

/** Longest duration accepted: what setTimeout can wait (about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

export const DURATION_EXPECTED =
  "must be a duration such as 10s or 500ms (ms, s, m or h; a bare integer is milliseconds)";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * Milliseconds from a duration, or undefined when `value` is not one. Fractions are
 * allowed (`1.5s`) and rounded to whole milliseconds; the result is 1 ms to MAX_DURATION_MS.
 */
export function parseDuration(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === "number") {
    ms = Number.isInteger(value) ? value : NaN;
  } else if (typeof value === "string") {
    const text = value.trim();
    const match = DURATION.exec(text);
    if (match) ms = Math.round(Number(match[1]) * (UNIT_MS[match[2]!] ?? NaN));
    else ms = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  } else {
    return undefined;
  }
  return Number.isSafeInteger(ms) && ms >= 1 && ms <= MAX_DURATION_MS ? ms : undefined;
}
