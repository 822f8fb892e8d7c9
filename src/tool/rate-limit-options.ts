/** A rate: `"60/min"` (also `s`/`sec`, `m`/`min`, `h`/`hour`, `d`/`day`), or `{ limit, windowMs }`. */
export type RateSpec = string | { readonly limit: number; readonly windowMs: number };

/**
 * Budgets. On the server: `perPrincipal` is each caller's budget across all tools,
 * `perTool` each tool's budget across all callers. On a tool: `perPrincipal` is each
 * caller's budget for that tool, `perTool` that tool's total.
 */
export interface RateLimitOptions {
  readonly perPrincipal?: RateSpec;
  readonly perTool?: RateSpec;
}

export interface Rate {
  readonly limit: number;
  readonly windowMs: number;
  /** As written, for messages. */
  readonly text: string;
}

export interface ResolvedRateLimits {
  readonly perPrincipal: Rate | undefined;
  readonly perTool: Rate | undefined;
}

const UNITS: Record<string, number> = {
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};
const RATE = /^\s*(\d{1,9})\s*\/\s*([a-z]+)\s*$/;
const MAX_WINDOW_MS = 7 * 86_400_000;

function resolveRate(spec: RateSpec, where: string): Rate {
  if (typeof spec === "string") {
    const match = RATE.exec(spec);
    const unit = match ? UNITS[match[2]!] : undefined;
    const limit = match ? Number(match[1]) : NaN;
    if (!match || unit === undefined || limit < 1) {
      throw new TypeError(
        `${where} must be a rate such as "60/min" (a positive count per s, min, h or day), got '${spec}'.`,
      );
    }
    return { limit, windowMs: unit, text: `${limit}/${match[2]!}` };
  }
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError(`${where} must be a rate such as "60/min" or { limit, windowMs }.`);
  }
  const { limit, windowMs } = spec;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new TypeError(`${where}.limit must be a positive integer.`);
  if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > MAX_WINDOW_MS)
    throw new TypeError(`${where}.windowMs must be a positive integer of at most 7 days in ms.`);
  return { limit, windowMs, text: `${limit} per ${windowMs} ms` };
}

/** Checks and resolves budgets once, at startup; a bad one is a TypeError naming the field. */
export function resolveRateLimits(
  options: RateLimitOptions | undefined,
  where: string,
): ResolvedRateLimits | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${where} must be an object: { perPrincipal?, perTool? }.`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "perPrincipal" && key !== "perTool")
      throw new TypeError(`${where}.${key} is not an option (use perPrincipal or perTool).`);
  }
  const perPrincipal =
    options.perPrincipal === undefined
      ? undefined
      : resolveRate(options.perPrincipal, `${where}.perPrincipal`);
  const perTool =
    options.perTool === undefined ? undefined : resolveRate(options.perTool, `${where}.perTool`);
  if (!perPrincipal && !perTool) return undefined;
  return { perPrincipal, perTool };
}
