import type { JsonSchema } from "../validation/json-schema.js";
import { createTextMasker, looksLikeCard, REDACTED, type TextMasker } from "./secret-text.js";
import { keyLooksSensitive } from "./sensitive-keys.js";
import { schemaIndex, type Applied, type SchemaIndex } from "./sensitive-schema.js";

export { keyLooksSensitive, REDACTED };

/**
 * Masks secrets in tool arguments before they reach an audit log, and bounds their size.
 *
 * Three independent rules, each applied at every depth:
 *
 * 1. Schema-marked values. A value whose (sub)schema says `sensitive: true` becomes
 *    `"[REDACTED]"`, whatever its type (an object or array is replaced as a whole). zod users
 *    write `z.string().meta({ sensitive: true })`; zod 4's JSON Schema output keeps the key.
 * 2. Sensitive keys. A property whose name looks like a secret (see `keyLooksSensitive`)
 *    is masked even without a schema. `null` and booleans under such a key are kept: they
 *    carry no secret, and `{ "password_set": true }` stays readable.
 * 3. Secret-looking text anywhere in a string, whatever the key (see secret-text.ts):
 *    private keys, URL passwords, `password=...`, well-known API keys, bearer credentials,
 *    JWTs, card numbers, and e-mail addresses when asked. The rest of the string is kept.
 *
 * Then bounds keep one audit event small: long strings, deep nesting, long arrays, wide
 * objects and very large values are cut with a visible marker (see `REDACTION_LIMITS`).
 *
 * The result is a new value made only of plain objects, arrays, strings, numbers, booleans
 * and null (JSON-safe); the input is never modified. Values JSON cannot carry get readable
 * placeholders: `"[undefined]"`, `"[Function: name]"`, `"12n"`, `"[Symbol(x)]"`,
 * `"[Map(2)]"`, `"[Circular]"` for a cycle, `"[Unreadable]"` for a throwing getter.
 *
 * It runs on every tool call, so it does little per call: what a key means is cached per
 * redactor, what a frozen schema marks is cached per schema, and a schema with no
 * `sensitive: true` anywhere is skipped entirely. About 5-10 µs for typical arguments.
 */

export const TRUNCATED = "[TRUNCATED]";

export const REDACTION_LIMITS = Object.freeze({
  /** Strings (and keys) longer than this are cut and end with `…[+N chars]`. */
  maxStringLength: 1024,
  /** Objects and arrays nested deeper than this become `"[TRUNCATED]"`. */
  maxDepth: 32,
  /** Arrays keep this many items, then one `"[+N items]"` marker item. */
  maxArrayItems: 100,
  /** Objects keep this many keys, then a `"[TRUNCATED]": "[+N keys]"` entry. */
  maxObjectKeys: 200,
  /**
   * Values visited per call; past it every value is `"[TRUNCATED]"`. The other bounds alone
   * would still allow 100^32 items, and a graph with shared references grows exponentially.
   */
  maxNodes: 10_000,
});

export interface RedactorOptions {
  /**
   * More keys to mask, besides the defaults: a string matches a key exactly, ignoring case;
   * a RegExp is tested against the key as it is (its `g`/`y` flags are dropped). They also
   * count as secret names in free text (`iban=DE89...`).
   */
  readonly keys?: readonly (string | RegExp)[];
  /**
   * E-mail addresses inside strings: `"keep"` (the default; they are who a call was about,
   * not credentials) or `"redact"` (each address becomes `[REDACTED]`).
   */
  readonly emails?: "keep" | "redact";
}

/** Returns a redacted, bounded copy of `value`; `schema` is the JSON Schema it was sent against. */
export type Redactor = (value: unknown, schema?: Readonly<JsonSchema>) => unknown;

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const isSensitive = keyRule(options.keys);
  const mask = createTextMasker({
    emails: checkEmails(options.emails),
    isSensitiveKey: isSensitive,
  });
  const text = (value: string) => boundString(value, mask);

  // Keys repeat from call to call (the same tools, the same argument names): decide once.
  const keyCache = new Map<string, KeyInfo>();
  const keyInfo = (key: string): KeyInfo => {
    const cached = keyCache.get(key);
    if (cached) return cached;
    const info: KeyInfo = {
      sensitive: isSensitive(key),
      // A key is data too: a map keyed by card number must not leak through its keys.
      out: text(key),
    };
    if (key.length <= 128) {
      if (keyCache.size >= 4096) keyCache.clear();
      keyCache.set(key, info);
    }
    return info;
  };

  return (value, schema) => {
    let index: SchemaIndex | undefined;
    let applied: Applied | undefined;
    if (typeof schema === "object" && schema !== null && !Array.isArray(schema)) {
      index = schemaIndex(schema);
      if (index) applied = index.expand(schema);
    }
    const walker: Walker = { index, keyInfo, text, nodes: 0, ancestors: new Set() };
    return walk(walker, value, applied, 0);
  };
}

/** The default key rule plus the caller's own names. */
function keyRule(keys: RedactorOptions["keys"] = []): (key: string) => boolean {
  if (!Array.isArray(keys))
    throw new TypeError("createRedactor: keys must be an array of strings or regular expressions.");
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const key of keys as readonly unknown[]) {
    if (typeof key === "string") exact.add(key.toLowerCase());
    else if (key instanceof RegExp)
      patterns.push(new RegExp(key.source, key.flags.replace(/[gy]/g, "")));
    else throw new TypeError("createRedactor: keys must be strings or regular expressions.");
  }
  if (exact.size === 0 && patterns.length === 0) return keyLooksSensitive;
  return (key) =>
    exact.has(key.toLowerCase()) || patterns.some((p) => p.test(key)) || keyLooksSensitive(key);
}

function checkEmails(emails: unknown): "keep" | "redact" {
  if (emails === undefined) return "keep";
  if (emails === "keep" || emails === "redact") return emails;
  throw new TypeError('createRedactor: emails must be "keep" or "redact".');
}

// ---------------------------------------------------------------------------------------
// Keys

interface KeyInfo {
  readonly sensitive: boolean;
  readonly out: string;
}

// ---------------------------------------------------------------------------------------
// Strings

// Patterns are matched in the first SCAN_WINDOW characters before the cut at
// maxStringLength, so a secret that straddles the cut is still masked, and a huge string
// costs no more than this.
const SCAN_WINDOW = 16 * 1024;

const maskDefault = createTextMasker();

/**
 * Masks secret-looking parts of a string (see secret-text.ts: private keys, URL passwords,
 * `password=...` assignments, well-known API keys, bearer credentials, JWTs, card numbers)
 * and cuts it to `maxStringLength`. E-mail addresses are kept; `createStringRedactor`
 * takes options.
 */
export function redactString(value: string): string {
  return boundString(value, maskDefault);
}

/**
 * The secret detectors of `redactString` without its cut at `maxStringLength`: for text a
 * model reads (the gateway's upstream error messages), where a long message must stay whole.
 * Linear in the text's length.
 */
export const maskSecretsInText: (value: string) => string = maskDefault;

/** `redactString` with options: more secret names (`keys`), and what to do with e-mails. */
export function createStringRedactor(options: RedactorOptions = {}): (value: string) => string {
  const mask = createTextMasker({
    emails: checkEmails(options.emails),
    isSensitiveKey: keyRule(options.keys),
  });
  return (value) => boundString(value, mask);
}

function boundString(value: string, mask: TextMasker): string {
  const windowed = value.length > SCAN_WINDOW;
  const head = mask(windowed ? value.slice(0, SCAN_WINDOW) : value);
  const unscanned = windowed ? value.length - SCAN_WINDOW : 0;
  let cut = REDACTION_LIMITS.maxStringLength;
  if (head.length <= cut) return unscanned === 0 ? head : `${head}…[+${unscanned} chars]`;
  const last = head.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // never split a surrogate pair
  return `${head.slice(0, cut)}…[+${head.length - cut + unscanned} chars]`;
}

function numberLooksLikeCard(value: number): boolean {
  // Card numbers sent as JSON numbers: integers of 13-19 digits (below 1e21 String() gives digits).
  return Number.isInteger(value) && value >= 1e12 && value < 1e19 && looksLikeCard(String(value));
}

// ---------------------------------------------------------------------------------------
// The walk

interface Walker {
  readonly index: SchemaIndex | undefined;
  readonly keyInfo: (key: string) => KeyInfo;
  /** `redactString` with this redactor's options. */
  readonly text: (value: string) => string;
  nodes: number;
  /** The objects on the path from the root: a value met again on its own path is a cycle. */
  readonly ancestors: Set<object>;
}

function walk(w: Walker, value: unknown, applied: Applied | undefined, depth: number): unknown {
  if (++w.nodes > REDACTION_LIMITS.maxNodes) return TRUNCATED;
  if (applied?.sensitive) return REDACTED;
  switch (typeof value) {
    case "string":
      return w.text(value);
    case "number":
      return numberLooksLikeCard(value) ? REDACTED : value;
    case "boolean":
      return value;
    case "undefined":
      return "[undefined]";
    case "bigint": {
      const text = w.text(value.toString());
      return text === REDACTED ? text : `${text}n`;
    }
    case "symbol":
      return `[${w.text(value.toString())}]`;
    case "function":
      return value.name ? `[Function: ${w.text(value.name)}]` : "[Function]";
    default:
      // "object"
      return value === null ? null : walkObject(w, value as object, applied, depth);
  }
}

function walkObject(
  w: Walker,
  value: object,
  applied: Applied | undefined,
  depth: number,
): unknown {
  if (depth >= REDACTION_LIMITS.maxDepth) return TRUNCATED;
  if (w.ancestors.has(value)) return "[Circular]";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[${value.constructor.name}(${value.byteLength} bytes)]`;
  }
  if (value instanceof Map || value instanceof Set) {
    return `[${value.constructor.name}(${value.size})]`;
  }
  w.ancestors.add(value);
  try {
    if (Array.isArray(value)) return walkArray(w, value, applied, depth);
    if (value instanceof Error) {
      // `message` and `name` are not enumerable own properties; keep them readable.
      return { name: w.text(value.name), message: w.text(value.message) };
    }
    return walkRecord(w, value as Record<string, unknown>, applied, depth);
  } catch {
    // A throwing getter or proxy trap: the audit event must still be written.
    return "[Unreadable]";
  } finally {
    w.ancestors.delete(value);
  }
}

function walkArray(
  w: Walker,
  value: readonly unknown[],
  applied: Applied | undefined,
  depth: number,
): unknown[] {
  const length = value.length;
  const keep = Math.min(length, REDACTION_LIMITS.maxArrayItems);
  const out: unknown[] = [];
  const index = applied ? w.index : undefined;
  for (let i = 0; i < keep; i++) {
    const child = index ? index.forItem(applied!, i) : undefined;
    out.push(walk(w, value[i], child, depth + 1));
  }
  if (length > keep) out.push(`[+${length - keep} items]`);
  return out;
}

function walkRecord(
  w: Walker,
  value: Record<string, unknown>,
  applied: Applied | undefined,
  depth: number,
): Record<string, unknown> {
  const keys = Object.keys(value);
  const keep = Math.min(keys.length, REDACTION_LIMITS.maxObjectKeys);
  const out: Record<string, unknown> = {};
  const index = applied ? w.index : undefined;
  for (let i = 0; i < keep; i++) {
    const key = keys[i]!;
    const child = value[key];
    const info = w.keyInfo(key);
    let result: unknown;
    if (info.sensitive && child !== null && typeof child !== "boolean") {
      w.nodes++;
      result = REDACTED;
    } else {
      result = walk(w, child, index ? index.forProperty(applied!, key) : undefined, depth + 1);
    }
    setOwn(out, info.out, result);
  }
  if (keys.length > keep) setOwn(out, TRUNCATED, `[+${keys.length - keep} keys]`);
  return out;
}

/**
 * `out[key] = value` that is safe for every key: assigning `__proto__` would change the
 * copy's prototype (and drop the data); defining it makes it an ordinary own property, as
 * `JSON.parse` does. `constructor` and `prototype` are plain keys for assignment already.
 */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}
