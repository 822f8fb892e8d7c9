// The building blocks of the config schema (schema.ts): zod types that accept what a
// YAML file holds (integers and booleans also as strings, from `${VAR}`), say what is
// expected in their messages, and carry the reference's text in `.meta()`. Issues go to
// issues.ts, which turns them into ConfigIssues at the value's (or key's) line.
import { z } from "zod";
import { resolveRateLimits } from "../../tool/rate-limit-options.js";
import { DURATION_EXPECTED, parseDuration } from "../../util/duration.js";
import { isPlainObject } from "./interpolate.js";
import { closestKey } from "./suggest.js";

/** What the reference (docs/gateway.md) shows of a key; the key's meaning is `.describe()`. */
export interface FieldDoc {
  /** The type column: "duration", "integer 0-65535", ... */
  readonly type: string;
  /** The default column; a required key without one shows **required**. */
  readonly default?: string;
}
/** What the reference shows of a mapping: a heading and the text above its table. */
export interface SectionDoc {
  readonly title: string;
  readonly intro?: string;
}

/** A refinement that runs even when a part of the value failed: cross-field checks. */
export const ALWAYS = { when: () => true } as const;
/** `params.at` of a custom issue: point at the key, not the value. */
export const AT_KEY = { at: "key" } as const;

type Message = string | ((input: unknown) => string);
const text = (message: Message, input: unknown) =>
  typeof message === "string" ? message : message(input);

/** The message for a missing value (`required`) or a wrong one (`expected`). */
function messages(expected: Message, required: string | true = true) {
  return (iss: { input?: unknown }) =>
    iss.input === undefined
      ? required === true
        ? "is required"
        : required
      : text(expected, iss.input);
}

/** "a list", "a string", ... for messages. Never the value itself: it may be a secret. */
export function kindOf(value: unknown): string {
  if (value === null) return "empty (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return value ? "true" : "false";
  return "a value of another kind";
}

/**
 * "unknown key: did you mean 'port'?", one line per key of `keys`: issues.ts splits them
 * into one issue per key (zod reports the unknown keys of a mapping as one issue).
 */
export function unknownKeyLines(keys: readonly PropertyKey[], known: readonly string[]): string {
  return keys
    .map((key) => {
      const suggestion = closestKey(String(key), known);
      return suggestion === undefined
        ? `unknown key: expected one of ${known.join(", ")}`
        : `unknown key: did you mean '${suggestion}'?`;
    })
    .join("\n");
}

interface SectionOptions {
  readonly expected?: Message;
  readonly required?: string | true;
  /** `key:` with nothing under it is `{}`. */
  readonly nullIsEmpty?: boolean;
  readonly doc?: SectionDoc;
}

/** A mapping whose keys are those of `shape`; any other key is an issue ("did you mean"). */
export function section<const S extends z.ZodRawShape>(shape: S, options: SectionOptions = {}) {
  const known = Object.keys(shape);
  const expected = options.expected ?? ((v) => `must be a mapping (key: value), not ${kindOf(v)}`);
  const object = z.strictObject(shape, {
    error: (iss) =>
      iss.code === "unrecognized_keys"
        ? unknownKeyLines(iss.keys, known)
        : messages(expected, options.required)(iss),
  });
  const documented = options.doc === undefined ? object : object.meta({ section: options.doc });
  if (options.nullIsEmpty !== true) return documented;
  return z.preprocess((v: z.input<typeof object> | null) => (v === null ? {} : v), documented);
}

/** A mapping of any keys (names of upstreams, tools, variables) to `value`. */
export function mappingOf<const V extends z.ZodType>(value: V, options: SectionOptions = {}) {
  const expected = options.expected ?? ((v) => `must be a mapping (key: value), not ${kindOf(v)}`);
  const record = z
    .record(z.string(), value, { error: messages(expected, options.required) })
    // Only plain mappings: z.record would also take a list's indexes as keys.
    .check(z.refine((v) => isPlainObject(v), { error: (iss) => text(expected, iss.input) }));
  if (options.nullIsEmpty !== true) return record;
  return z.preprocess((v: z.input<typeof record> | null) => (v === null ? {} : v), record);
}

/** A string; not empty or blank. */
export function nonEmpty(expected: Message = "must be a non-empty string", required?: string) {
  return z
    .string({ error: messages(expected, required) })
    .refine((s) => s.trim() !== "", { error: (iss) => text(expected, iss.input) });
}

/**
 * A string from a scalar: strings as they are, true/false and integers as written
 * (`PORT: 3000` in an environment). A fraction is refused: YAML would drop its zeros.
 */
export function scalarText(expected = "must be a string (quote it)") {
  return z.preprocess(
    (v: string | number | boolean) =>
      typeof v === "boolean" || (typeof v === "number" && Number.isSafeInteger(v)) ? String(v) : v,
    z.string({ error: messages(expected) }),
  );
}

/** An integer in [min, max]; a string of digits (from `${VAR}`) counts. */
export function integer(min: number, max: number, expected?: string) {
  const message = expected ?? `must be an integer from ${min} to ${max}`;
  return z.preprocess(
    (v: number | string) => (typeof v === "string" && /^\d{1,16}$/.test(v.trim()) ? Number(v) : v),
    z
      .int({ error: messages(message) })
      .min(min, { error: message })
      .max(max, { error: message }),
  );
}

/** true or false (also as the strings "true" and "false", from `${VAR}`). */
export function bool() {
  return z.preprocess(
    (v: boolean | "true" | "false") => (v === "true" ? true : v === "false" ? false : v),
    z.boolean({ error: messages("must be true or false") }),
  );
}

/** One of `choices`. */
export function choice<const T extends readonly [string, ...string[]]>(choices: T) {
  const list =
    choices.length === 2
      ? `${choices[0]} or ${choices[1]}`
      : `one of ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  return z.enum(choices, { error: messages(`must be ${list}`) });
}

/** Milliseconds from `500ms`, `10s`, `2m`, `1h` or an integer number of ms. */
export function duration() {
  return z
    .union([z.string(), z.number()], { error: messages(DURATION_EXPECTED) })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms !== undefined) return ms;
      ctx.addIssue({ code: "custom", message: DURATION_EXPECTED, input: value });
      return z.NEVER;
    });
}

interface ListOptions {
  readonly expected?: string;
  readonly required?: string;
  /** One string is a list of one. */
  readonly allowSingle?: boolean;
  /** One string is a space-separated list (OAuth scopes). */
  readonly splitSpaces?: boolean;
  /** [] is refused. */
  readonly nonEmpty?: boolean;
  /** Each item must pass this. */
  readonly item?: (item: string) => boolean;
  /** Items may be written as integers or booleans (stdio args). */
  readonly scalars?: boolean;
}

/** A list of strings. */
export function stringList(options: ListOptions = {}) {
  const expected = options.expected ?? "must be a list of strings";
  const check = options.item;
  const valid = (s: string) =>
    (options.scalars === true || s.trim() !== "") && (check === undefined || check(s));
  const item =
    options.scalars === true
      ? scalarText(expected).refine(valid, expected)
      : z.string({ error: expected }).refine(valid, expected);
  const list = z
    .array(item, { error: messages(expected, options.required) })
    .min(options.nonEmpty === true ? 1 : 0, { error: `${expected}, with at least one item` });
  return z.preprocess((v: string | readonly (string | number | boolean)[]) => {
    if (typeof v !== "string") return v;
    if (options.splitSpaces === true) return v.split(/\s+/).filter((s) => s !== "");
    return options.allowSingle === true ? [v] : v;
  }, list);
}

/** Hosts an `http:` endpoint may be on (the verifiers' and token clients' own rule). */
const LOOPBACK_URL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An http:// or https:// URL. With `secure`, http only on loopback (tokens travel to it). */
export function url(options: { readonly expected?: string; readonly secure?: boolean } = {}) {
  const parse = (s: string) => (URL.canParse(s) ? new URL(s) : undefined);
  return nonEmpty(options.expected)
    .refine((s) => ["http:", "https:"].includes(parse(s)?.protocol ?? ""), {
      error: options.expected ?? "must be an http:// or https:// URL",
      abort: true,
    })
    .refine(
      (s) =>
        options.secure !== true ||
        parse(s)?.protocol !== "http:" ||
        LOOPBACK_URL_HOSTS.has(parse(s)?.hostname ?? ""),
      "must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1]: tokens and secrets travel to it)",
    );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_EXPECTED = "must be the name of an environment variable, such as API_TOKEN";

/**
 * The name of an environment variable that must be set (and not empty) in `env`. The
 * output is the name; the value never appears in an issue.
 */
export function envVariable(env: NodeJS.ProcessEnv, required: string) {
  return nonEmpty(ENV_EXPECTED, required)
    .refine((name) => ENV_NAME.test(name), { error: ENV_EXPECTED, abort: true })
    .superRefine((name, ctx) => {
      const value = env[name];
      if (value === undefined) ctx.addIssue(`environment variable ${name} is not set`);
      else if (value === "") ctx.addIssue(`environment variable ${name} is empty`);
    });
}

const RATE_EXPECTED = "must be a rate such as 60/min (a positive count per s, min, h or day)";

function rate() {
  return nonEmpty(RATE_EXPECTED).refine((spec) => {
    try {
      resolveRateLimits({ perPrincipal: spec }, "rateLimit");
      return true;
    } catch {
      return false;
    }
  }, RATE_EXPECTED);
}

/** `{ perPrincipal: 60/min, perTool: 600/min }`, checked as resolveRateLimits will. */
export function rateLimit() {
  return section(
    { perPrincipal: rate().optional(), perTool: rate().optional() },
    { expected: "must be a mapping: { perPrincipal: 60/min, perTool: 600/min }" },
  );
}

/** The one key of `keys` that `value` has, or an issue at it saying `message`. */
export function exactlyOne(
  value: unknown,
  ctx: z.RefinementCtx,
  keys: readonly string[],
  message: string,
): void {
  if (!isPlainObject(value)) return;
  const present = keys.filter((k) => value[k] !== undefined);
  if (present.length === 1) return;
  ctx.addIssue({
    code: "custom",
    message: present.length === 0 ? message : `${message} (found ${present.join(" and ")})`,
  });
}

interface Branches {
  readonly boolean?: z.ZodType;
  readonly string?: z.ZodType;
  readonly list?: z.ZodType;
  readonly mapping?: z.ZodType;
}
type BranchOf<B extends Branches> = NonNullable<B[keyof B]>;

/**
 * A setting written in several forms (`audit: false`, `audit: stdout`, `audit: [...]`,
 * `audit: { sinks: ... }`): the form is chosen by the value's kind, so that an issue
 * inside a mapping is reported there (a zod union would report only that no form fits).
 * `null` is the mapping form (`key:` with nothing under it).
 */
export function byKind<const B extends Branches>(
  branches: B,
  expected: Message,
): z.ZodType<z.output<BranchOf<B>>, z.input<BranchOf<B>>> {
  const pick = (value: unknown): z.ZodType | undefined => {
    if (typeof value === "boolean") return branches.boolean;
    if (typeof value === "string") return branches.string;
    if (Array.isArray(value)) return branches.list;
    return value === null || isPlainObject(value) ? branches.mapping : undefined;
  };
  return z
    .unknown()
    .transform((value, ctx) => {
      const branch = pick(value);
      if (branch === undefined) {
        ctx.addIssue({ code: "custom", message: text(expected, value), input: value });
        return z.NEVER;
      }
      const result = branch.safeParse(value);
      if (result.success) return result.data;
      // Their paths are relative to this value: zod prefixes them with where it is.
      for (const issue of result.error.issues) ctx.addIssue({ ...issue, input: value } as never);
      return z.NEVER;
    })
    .meta({ kinds: branches }) as never;
}
