// The one duration syntax of toolgate, for the config file (`timeout: 10s`) and the CLI
// (`--timeout 10s`): `500ms`, `10s`, `2m`, `1h` (fractions allowed: `1.5s`, rounded to
// whole milliseconds), or a bare integer, which is MILLISECONDS.
//
// Why a bare integer is milliseconds: the config file's reference (docs/gateway.md) has
// always said so, every programmatic option is a `...Ms` number, and a config file is
// where a bare number is most likely (`timeout: 5000`). `toolgate contract --timeout` once
// read a bare number as seconds; it now follows this rule too (its help says so). A unit
// is always the unambiguous spelling, and the docs write one everywhere.

/** Longest duration accepted: what setTimeout can wait (about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

export const DURATION_EXPECTED =
  "must be a duration such as 10s or 500ms (ms, s, m or h; a bare integer is milliseconds)";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * Milliseconds from a duration (a string, or an integer number of ms), or undefined when
 * `value` is not one. The result is a whole number from 1 ms to `maxMs` (MAX_DURATION_MS).
 */
export function parseDuration(value: unknown, maxMs = MAX_DURATION_MS): number | undefined {
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
  return Number.isSafeInteger(ms) && ms >= 1 && ms <= maxMs ? ms : undefined;
}
