import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { Principal } from "../auth/principal.js";
import { invalidInput } from "../errors/tool-error.js";
import { IDEMPOTENCY_ARGUMENT } from "../tool/idempotency-options.js";

/** `params._meta` key a host or harness sets (first in precedence). */
export const IDEMPOTENCY_META_KEY = "toolgate/idempotency-key";
/** `_meta` flag on a replayed result. */
export const REPLAY_META_KEY = "toolgate/idempotent-replay";

// 1-255 printable ASCII characters (the design page; the IETF draft's key is a string).
const KEY_FORMAT = /^[\x20-\x7E]{1,255}$/;

export interface KeySources {
  meta: Readonly<Record<string, unknown>> | undefined;
  headers: Headers | undefined;
  rawArguments: unknown;
}

/**
 * The idempotency key of a call, from (in order) `_meta`, the `Idempotency-Key` header,
 * the `idempotency_key` argument. Two different keys in one call, or a key that is not
 * 1-255 printable ASCII characters, are `invalid_input`.
 */
export function extractKey(sources: KeySources): string | undefined {
  const found: { where: string; value: unknown }[] = [];
  const fromMeta = sources.meta?.[IDEMPOTENCY_META_KEY];
  if (fromMeta !== undefined)
    found.push({ where: `_meta["${IDEMPOTENCY_META_KEY}"]`, value: fromMeta });
  const fromHeader = unquote(sources.headers?.get("idempotency-key"));
  if (fromHeader !== null && fromHeader !== undefined)
    found.push({ where: "the Idempotency-Key header", value: fromHeader });
  const args = sources.rawArguments;
  if (typeof args === "object" && args !== null && IDEMPOTENCY_ARGUMENT in args) {
    found.push({
      where: `the ${IDEMPOTENCY_ARGUMENT} argument`,
      value: (args as Record<string, unknown>)[IDEMPOTENCY_ARGUMENT],
    });
  }
  for (const { where, value } of found) {
    if (typeof value !== "string" || !KEY_FORMAT.test(value)) {
      throw invalidInput(
        `The idempotency key in ${where} must be 1-255 printable ASCII characters.`,
        [
          {
            path: where.includes("argument") ? `/${IDEMPOTENCY_ARGUMENT}` : "",
            message: "is not a valid idempotency key",
          },
        ],
      );
    }
  }
  const distinct = new Set(found.map((f) => f.value));
  if (distinct.size > 1) {
    throw invalidInput(
      `The call carries two different idempotency keys (${found.map((f) => f.where).join(", ")}). Send one key per operation.`,
    );
  }
  return found[0]?.value as string | undefined;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * SHA-256 of the RFC 8785 canonical JSON of the validated arguments (without the key
 * and without `_meta`): reordered object keys fingerprint the same.
 */
export function fingerprintOf(args: unknown): string {
  return sha256(canonicalize(args ?? {}) ?? "null");
}

/**
 * The record's scope: one principal (issuer + tenant + subject), one tool, one key. A key
 * from one principal never replays, blocks or reveals another principal's result.
 */
export function scopeOf(principal: Principal, toolName: string, key: string): string {
  return sha256(
    JSON.stringify([principal.issuer, principal.tenant ?? "", principal.subject, toolName, key]),
  );
}

/**
 * The key handed to the handler and sent downstream (`Idempotency-Key` on backend calls):
 * stable for the operation, unique per scope, and revealing nothing of the caller's key.
 */
export function derivedKeyOf(scope: string): string {
  return `tg_${createHash("sha256").update(`toolgate:derived:${scope}`).digest("base64url")}`;
}

/**
 * The IETF draft sends the key as a Structured Field string (`"K"`, RFC 8941 §3.3.3);
 * many clients send it bare (Stripe style). Both mean the key K.
 */
function unquote(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(value);
  return quoted ? quoted[1]!.replace(/\\(["\\])/g, "$1") : value;
}
