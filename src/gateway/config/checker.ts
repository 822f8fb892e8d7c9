// The building blocks of the config checks: each reads one value, returns it typed, or
// records an issue at the value's line and returns undefined, so checking goes on and
// one run reports every problem. A value whose `${VAR}` failed (UNRESOLVED) was reported
// already and is skipped quietly.
import { resolveRateLimits, type RateLimitOptions } from "../../ratelimit/options.js";
import type { ConfigIssue } from "./config-error.js";
import { DURATION_EXPECTED, parseDuration } from "./duration.js";
import { UNRESOLVED, isPlainObject } from "./interpolate.js";
import { closestKey } from "./suggest.js";
import { formatPath, type Path, type YamlSource } from "./yaml-source.js";

export type Mapping = Readonly<Record<string, unknown>>;

/** Hosts an `http:` endpoint may be on (the verifiers' and token clients' own rule). */
const LOOPBACK_URL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RATE_EXPECTED = "must be a rate such as 60/min (a positive count per s, min, h or day)";

interface ValueOptions {
  /** Absent is an issue: "is required", or this message. */
  readonly required?: boolean | string;
  /** The issue's text when the value has the wrong type or form. */
  readonly expected?: string;
}

export class Checker {
  readonly issues: ConfigIssue[] = [];
  /** Paths an unknown key was taken for ("did you mean"): not also reported as missing. */
  private readonly typoFor = new Set<string>();

  constructor(
    readonly file: string,
    private readonly source: YamlSource,
  ) {}

  /** Records an issue at the value (or with `at: "key"` the key) at `path`; returns undefined. */
  report(path: Path, message: string, at: "value" | "key" = "value"): undefined {
    const position = this.source.locate(path, at);
    this.issues.push({
      file: this.file,
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
      path: formatPath(path),
      // One line per issue, whatever a constructor's message or a value in it holds.
      message: message.replace(/\s*[\r\n]+\s*/g, " "),
    });
    return undefined;
  }

  /**
   * A mapping whose keys are `known` (each other key is an issue, with a suggestion when
   * one is close), or any keys with `known: "any"`. `nullIsEmpty` reads `key:` with
   * nothing under it as `{}`.
   */
  mapping(
    value: unknown,
    path: Path,
    known: readonly string[] | "any",
    options: ValueOptions & { readonly nullIsEmpty?: boolean } = {},
  ): Mapping | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    if (value === null && options.nullIsEmpty === true) return {};
    if (!isPlainObject(value)) {
      return this.report(
        path,
        options.expected ?? `must be a mapping (key: value), not ${kindOf(value)}`,
      );
    }
    if (known !== "any") {
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        const suggestion = closestKey(key, known);
        if (suggestion !== undefined) this.typoFor.add(formatPath([...path, suggestion]));
        this.report(
          [...path, key],
          suggestion === undefined
            ? `unknown key: expected one of ${known.join(", ")}`
            : `unknown key: did you mean '${suggestion}'?`,
          "key",
        );
      }
    }
    return value;
  }

  /** A string; by default not empty or blank. */
  string(
    value: unknown,
    path: Path,
    options: ValueOptions & { readonly allowEmpty?: boolean } = {},
  ): string | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    if (typeof value === "string" && (options.allowEmpty === true || value.trim() !== "")) {
      return value;
    }
    return this.report(path, options.expected ?? "must be a non-empty string");
  }

  /**
   * A string from a scalar: strings as they are, true/false and integers as written
   * (`PORT: 3000` in an environment). A fraction is refused: YAML would drop its zeros.
   */
  scalarString(value: unknown, path: Path, options: ValueOptions = {}): string | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    if (typeof value === "string") return value;
    if (typeof value === "boolean" || (typeof value === "number" && Number.isSafeInteger(value))) {
      return String(value);
    }
    return this.report(path, options.expected ?? "must be a string (quote it)");
  }

  /** An integer in [min, max]; a string of digits (from `${VAR}`) counts. */
  integer(
    value: unknown,
    path: Path,
    range: { readonly min: number; readonly max: number },
    options: ValueOptions = {},
  ): number | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    const number =
      typeof value === "string" && /^\d{1,16}$/.test(value.trim()) ? Number(value) : value;
    if (
      typeof number === "number" &&
      Number.isSafeInteger(number) &&
      number >= range.min &&
      number <= range.max
    ) {
      return number;
    }
    return this.report(
      path,
      options.expected ?? `must be an integer from ${range.min} to ${range.max}`,
    );
  }

  /** true or false (also as the strings "true" and "false", from `${VAR}`). */
  boolean(value: unknown, path: Path, options: ValueOptions = {}): boolean | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    return this.report(path, options.expected ?? "must be true or false");
  }

  /** Milliseconds from `500ms`, `10s`, `2m`, `1h` or an integer number of ms. */
  duration(value: unknown, path: Path, options: ValueOptions = {}): number | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    return parseDuration(value) ?? this.report(path, options.expected ?? DURATION_EXPECTED);
  }

  /** One of `choices`. */
  choice<const T extends string>(
    value: unknown,
    path: Path,
    choices: readonly T[],
    options: ValueOptions = {},
  ): T | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    if (typeof value === "string" && (choices as readonly string[]).includes(value)) {
      return value as T;
    }
    const list =
      choices.length === 2
        ? `${choices[0]} or ${choices[1]}`
        : `one of ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
    return this.report(path, options.expected ?? `must be ${list}`);
  }

  /**
   * A list of strings. `allowSingle` takes one string as a list of one; `splitSpaces`
   * takes one string as a space-separated list (OAuth scopes). `nonEmpty` refuses [].
   */
  stringList(
    value: unknown,
    path: Path,
    options: ValueOptions & {
      readonly allowSingle?: boolean;
      readonly splitSpaces?: boolean;
      readonly nonEmpty?: boolean;
      readonly item?: (item: string) => boolean;
      readonly scalars?: boolean;
    } = {},
  ): string[] | undefined {
    if (value === undefined || value === UNRESOLVED) return this.absent(value, path, options);
    const expected = options.expected ?? "must be a list of strings";
    let items: unknown[];
    if (typeof value === "string" && options.splitSpaces === true) {
      items = value.split(/\s+/).filter((s) => s !== "");
    } else if (typeof value === "string" && options.allowSingle === true) {
      items = [value];
    } else if (Array.isArray(value)) {
      items = value;
    } else {
      return this.report(path, expected);
    }
    if (options.nonEmpty === true && items.length === 0) {
      return this.report(path, `${expected}, with at least one item`);
    }
    const out: string[] = [];
    let ok = true;
    items.forEach((item, i) => {
      const at = Array.isArray(value) ? [...path, i] : path;
      const text =
        options.scalars === true
          ? this.scalarString(item, at, { required: true, expected })
          : this.string(item, at, { required: true, expected });
      if (text !== undefined && options.item !== undefined && !options.item(text)) {
        this.report(at, expected);
        ok = false;
      } else if (text === undefined) {
        ok = false;
      } else {
        out.push(text);
      }
    });
    return ok ? out : undefined;
  }

  /** An http:// or https:// URL. With `secure`, http only on loopback (tokens travel to it). */
  url(
    value: unknown,
    path: Path,
    options: ValueOptions & { readonly secure?: boolean } = {},
  ): string | undefined {
    const text = this.string(value, path, options);
    if (text === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return this.report(path, options.expected ?? "must be an http:// or https:// URL");
    }
    if (
      options.secure === true &&
      url.protocol === "http:" &&
      !LOOPBACK_URL_HOSTS.has(url.hostname)
    ) {
      return this.report(
        path,
        "must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1]: tokens and secrets travel to it)",
      );
    }
    return text;
  }

  /**
   * The name of an environment variable that must be set (and not empty) in `env`.
   * The value is returned for callers that need it; it never appears in an issue.
   */
  envVariable(
    value: unknown,
    path: Path,
    env: NodeJS.ProcessEnv,
    options: ValueOptions = {},
  ): { name: string; value: string } | undefined {
    const name = this.string(value, path, {
      expected: "must be the name of an environment variable, such as API_TOKEN",
      ...options,
    });
    if (name === undefined) return undefined;
    if (!ENV_NAME.test(name)) {
      return this.report(path, "must be the name of an environment variable, such as API_TOKEN");
    }
    const secret = env[name];
    if (secret === undefined) return this.report(path, `environment variable ${name} is not set`);
    if (secret === "") return this.report(path, `environment variable ${name} is empty`);
    return { name, value: secret };
  }

  /** `{ perPrincipal: 60/min, perTool: 600/min }`, checked as resolveRateLimits will. */
  rateLimit(value: unknown, path: Path): RateLimitOptions | undefined {
    const m = this.mapping(value, path, ["perPrincipal", "perTool"], {
      expected: "must be a mapping: { perPrincipal: 60/min, perTool: 600/min }",
    });
    if (m === undefined) return undefined;
    const rate = (key: "perPrincipal" | "perTool") => {
      const text = this.string(m[key], [...path, key], { expected: RATE_EXPECTED });
      if (text === undefined) return undefined;
      try {
        resolveRateLimits({ [key]: text }, "rateLimit");
        return text;
      } catch {
        return this.report([...path, key], RATE_EXPECTED);
      }
    };
    const perPrincipal = rate("perPrincipal");
    const perTool = rate("perTool");
    return {
      ...(perPrincipal === undefined ? {} : { perPrincipal }),
      ...(perTool === undefined ? {} : { perTool }),
    };
  }

  /** The one key of `keys` that `mapping` has, or an issue at `path` saying `message`. */
  exactlyOne<const K extends string>(
    mapping: Mapping,
    path: Path,
    keys: readonly K[],
    message: string,
  ): K | undefined {
    const present = keys.filter((k) => mapping[k] !== undefined);
    if (present.length === 1) return present[0];
    return this.report(
      path,
      present.length === 0 ? message : `${message} (found ${present.join(" and ")})`,
    );
  }

  private absent(value: unknown, path: Path, options: ValueOptions): undefined {
    if (value !== undefined || options.required === undefined || options.required === false) {
      return undefined;
    }
    if (this.typoFor.has(formatPath(path))) return undefined;
    return this.report(path, options.required === true ? "is required" : options.required);
  }
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
