import type { IncomingMessage } from "node:http";

/** What the client must fix when `hasAmbiguousAuthorization` is true. */
export const AMBIGUOUS_AUTHORIZATION =
  "Send exactly one Authorization header with a single credential; this request carries more than one.";

// An element of a comma-separated list that continues the first credential: empty (RFC 9110
// §5.6.1 allows empty list elements) or an auth-param `name = value` (Digest, AWS SigV4).
const AUTH_PARAM_OR_EMPTY = /^[ \t]*(?:[!#$%&'*+.^_`|~\w-]+[ \t]*=.*)?$/;
const QUOTED_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * True when the request carries more than one credential: two or more `Authorization`
 * fields, or one value holding two credentials joined by a comma (what fetch/undici and
 * many proxies make of duplicate fields: `Bearer a, Bearer b`).
 *
 * `Authorization` is a singleton field (RFC 9110 §11.6.2: one set of credentials), but
 * Node keeps only the first of duplicates in `req.headers`, and a proxy in front may have
 * checked another one; so such a request is refused rather than guessed at.
 */
export function hasAmbiguousAuthorization(req: IncomingMessage): boolean {
  const value = req.headers.authorization;
  if (value === undefined) return false;
  // `rawHeaders` keeps every field as sent: [name, value, name, value, ...].
  const raw = req.rawHeaders;
  let fields = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === "authorization" && ++fields > 1) return true;
  }
  if (!value.includes(",")) return false;
  // A comma inside a quoted auth-param value (`realm="a, b"`) separates nothing.
  const elements = value.replace(QUOTED_STRING, '""').split(",");
  for (let i = 1; i < elements.length; i++) {
    if (!AUTH_PARAM_OR_EMPTY.test(elements[i]!)) return true;
  }
  return false;
}
