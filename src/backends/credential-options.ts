// The option checks the credential providers share. They throw TypeError naming the
// field: bad options fail at startup.
import { endpointOption, nonEmptyString } from "../auth/claims.js";

/** Fails on options a factory does not know; a raw secret gets a pointed message. */
export function knownOptions(options: object, known: readonly string[], where: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${where}: options are required.`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    if (/secret|password|^(value|token|apiKey)$/i.test(key)) {
      throw new TypeError(
        `${where}: ${key} is not an option. Secrets never go in configuration: put the secret ` +
          `in an environment variable and name that variable (e.g. ${known.find((k) => k.endsWith("FromEnv")) ?? "valueFromEnv"}).`,
      );
    }
    throw new TypeError(`${where}: unknown option ${key}.`);
  }
}

/** The secret in `process.env[name]`, read once. Its value is never part of an error. */
export function secretFromEnv(name: unknown, where: string): string {
  const variable = nonEmptyString(name, where);
  const value = process.env[variable];
  if (value === undefined || value === "") {
    throw new TypeError(`${where}: the environment variable ${variable} is not set or is empty.`);
  }
  return value;
}

/** An http(s) URL without credentials or fragment. */
/** https, or http on loopback only: the client secret and users' tokens travel to it. */
export function tokenUrlOption(value: unknown, where: string): URL {
  const url = endpointOption(value, where, false);
  if (url.username !== "" || url.password !== "" || url.hash !== "") {
    throw new TypeError(`${where} must not carry credentials or a fragment.`);
  }
  return url;
}

export function timeoutOption(value: unknown, where: string): number {
  if (value === undefined) return 5000;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new TypeError(`${where} must be a positive integer number of milliseconds.`);
  }
  return value;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function isScopeToken(value: unknown): value is string {
  return typeof value === "string" && SCOPE_TOKEN.test(value);
}

/** A scope list option: RFC 6749 scope tokens, deduplicated and sorted. */
export function scopeOption(value: unknown, where: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isScopeToken)) {
    throw new TypeError(
      `${where} must be an array of OAuth scope tokens (no spaces, quotes or backslashes).`,
    );
  }
  return normalizeScope(value);
}

export function normalizeScope(scope: readonly string[]): readonly string[] {
  return Object.freeze([...new Set(scope)].sort());
}
