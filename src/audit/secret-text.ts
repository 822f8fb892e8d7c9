import { keyLooksSensitive } from "./sensitive-keys.js";

/**
 * Masks secrets inside one string, wherever they stand, and keeps the rest of the text
 * readable. No bounds here: `redactString` (redact.ts) scans a window and cuts.
 *
 * In order (earlier rules leave `[REDACTED]`, which later rules skip, so masking twice
 * gives the same text):
 * 1. PEM private key blocks (RFC 7468), also without their END line;
 * 2. passwords in URLs of any scheme (`postgres://admin:pw@db` -> `postgres://admin:[REDACTED]@db`);
 * 3. `name=value`, `name: value`, `"name":"value"`, `name => value` where the name looks
 *    like a secret by the same rule as object keys (`password`, `pwd`, `client_secret`,
 *    `access_token`, `api_key`, ...);
 * 4. well-known API key shapes (see KNOWN_TOKENS);
 * 5. `Bearer <credential>`, JWTs and payment card numbers;
 * 6. e-mail addresses, only when asked (`emails: "redact"`).
 *
 * Every pattern is linear in the length of the text (no nested or overlapping quantifiers;
 * a run is only entered at its start), and each rule is skipped by a cheap test when the
 * text cannot contain a match.
 */

export const REDACTED = "[REDACTED]";

export interface TextMaskOptions {
  /** `"keep"` (the default) leaves e-mail addresses readable; `"redact"` masks each one whole. */
  readonly emails?: "keep" | "redact";
  /** Which names make `name=value` a secret in free text. Default: `keyLooksSensitive`. */
  readonly isSensitiveKey?: (key: string) => boolean;
}

export type TextMasker = (text: string) => string;

export function createTextMasker(options: TextMaskOptions = {}): TextMasker {
  const redactEmails = options.emails === "redact";
  const sensitive = cached(options.isSensitiveKey ?? keyLooksSensitive);
  return (text) => {
    let out = text;
    if (out.includes("PRIVATE KEY")) out = replace(out, PEM_PRIVATE_KEY, pemReplacer);
    if (out.includes("://")) out = replace(out, URL_PASSWORD, urlReplacer);
    out = maskAssignments(out, sensitive);
    if (out.length >= MIN_TOKEN_LENGTH) out = replace(out, KNOWN_TOKENS, tokenReplacer);
    out = replace(out, BEARER, bearerReplacer);
    if (out.includes("eyJ")) out = replace(out, JWT, () => REDACTED);
    if (out.length >= 13 && HAS_DIGIT_GROUP.test(out)) out = replace(out, CARD, cardReplacer);
    if (redactEmails && out.includes("@")) out = replace(out, EMAIL, () => REDACTED);
    return out;
  };
}

/**
 * `text.replace(pattern, replacer)`, but a text without a match (nearly every one) costs a
 * `test`: V8's `replace` with a global pattern takes a slow path even when nothing matches
 * (measured ~0.3-0.5 µs against ~0.05 µs per short string).
 */
function replace(
  text: string,
  pattern: RegExp,
  // The replacer's arguments are the match, the groups, the offset and the text.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  replacer: (match: string, ...args: any[]) => string,
): string {
  pattern.lastIndex = 0;
  if (!pattern.test(text)) return text;
  pattern.lastIndex = 0;
  return text.replace(pattern, replacer);
}

/** The names a predicate was asked about are few and repeat: decide each once. */
function cached(test: (key: string) => boolean): (key: string) => boolean {
  const seen = new Map<string, boolean>();
  return (key) => {
    let result = seen.get(key);
    if (result === undefined) {
      result = test(key);
      if (seen.size >= 1024) seen.clear();
      seen.set(key, result);
    }
    return result;
  };
}

// ---------------------------------------------------------------------------------------
// PEM private keys

// RFC 7468 §2 labels: `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `RSA|EC|DSA|OPENSSH PRIVATE KEY`,
// and OpenPGP's `PGP PRIVATE KEY BLOCK` (RFC 4880 §6.2). The body is masked up to the
// matching END line, or to the end of the text when it was cut before it.
const PEM_PRIVATE_KEY =
  /-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END \1PRIVATE KEY\2-----|$)/g;

function pemReplacer(_match: string, label: string, block = "", end: string): string {
  return `-----BEGIN ${label}PRIVATE KEY${block}-----${REDACTED}${end}`;
}

// ---------------------------------------------------------------------------------------
// URL passwords

// RFC 3986 §3.2.1: userinfo = user ":" password, before the last "@" of the authority
// (which ends at "/", "?", "#"). The user and host stay: the log still says who and where.
const URL_PASSWORD = /(:\/\/[^\s:/?#@]*:)[^\s/?#]*@/g;
const urlReplacer = (_match: string, head: string) => `${head}${REDACTED}@`;

// ---------------------------------------------------------------------------------------
// name=value assignments

// Found from the separator backwards (a regex tried at every position of every string
// cost more than all the other rules together): `=`, `:`, `:=` or `=>`, blanks, an optional
// closing quote (also `\"` inside JSON text), then the name: a run of [A-Za-z0-9_.-] of at
// most 64 characters, starting with a letter or `_` after at most two dashes (`--password`).
// Only the name decides; a harmless `note=` never hides a secret in what follows.
const MAX_NAME = 64;
// `Authorization: Bearer x` keeps its scheme, as the Bearer rule does.
const AUTH_SCHEME = /(?:basic|bearer|digest|negotiate|token)[ \t]+(?=\S)/iy;
// The value: JSON-escaped (`\"...\"`), double-quoted, single-quoted (the quotes stay, an
// unclosed quote masks to the end of the line), or a bare run up to a delimiter.
const ESCAPED_QUOTED = /(?:[^"\\\n]|\\[^"\n])*/y;
const DOUBLE_QUOTED = /(?:[^"\\\n]|\\.)*/y;
const SINGLE_QUOTED = /[^'\n]*/y;
const BARE = /[^\s"'`,;&)\]}<>]+/y;
// A `Cookie:`/`Set-Cookie:` value is a `;`-separated list: all of it is masked.
const COOKIE_LIST = /[^\s"'`,;]+(?:;[ \t]*[^\s"'`,;]+)*/y;

function maskAssignments(text: string, sensitive: (key: string) => boolean): string {
  let out = "";
  let copied = 0;
  // The next ":" and "=" (indexOf is several times cheaper than a regex here).
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  while (colon !== -1 || equals !== -1) {
    const at = equals === -1 || (colon !== -1 && colon < equals) ? colon : equals;
    if (at === colon) colon = text.indexOf(":", at + 1);
    else equals = text.indexOf("=", at + 1);
    const name = nameBefore(text, at, copied);
    if (name === undefined || !sensitive(name)) continue;
    const next = text.charCodeAt(at + 1);
    const wide = (text[at] === ":" && next === 61) || (text[at] === "=" && next === 62); // := =>
    const cookie = /cookie/i.test(name);
    const value = valueAt(text, skipBlanks(text, at + (wide ? 2 : 1)), cookie);
    if (value === undefined) continue;
    out += text.slice(copied, value.from) + REDACTED;
    copied = value.to;
    // A separator inside the masked value is part of the secret.
    if (colon !== -1 && colon < copied) colon = text.indexOf(":", copied);
    if (equals !== -1 && equals < copied) equals = text.indexOf("=", copied);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** The name that ends just before the separator at `at`, if there is one. */
function nameBefore(text: string, at: number, floor: number): string | undefined {
  let end = at;
  while (end > floor && isBlank(text.charCodeAt(end - 1))) end--;
  const quote = text.charCodeAt(end - 1);
  if (quote === 34 || quote === 39) {
    end--;
    if (text.charCodeAt(end - 1) === 92) end--; // \"
  }
  let start = end;
  while (start > floor && end - start <= MAX_NAME + 2 && isNameChar(text.charCodeAt(start - 1)))
    start--;
  if (start > floor && isNameChar(text.charCodeAt(start - 1))) return undefined; // too long
  for (let dashes = 0; dashes < 2 && text.charCodeAt(start) === 45; dashes++) start++;
  const first = text.charCodeAt(start);
  const letter = (first | 32) >= 97 && (first | 32) <= 122;
  if (end - start > MAX_NAME || !(letter || first === 95)) return undefined;
  return text.slice(start, end);
}

function valueAt(
  text: string,
  start: number,
  cookie: boolean,
): { from: number; to: number } | undefined {
  let at = start;
  AUTH_SCHEME.lastIndex = at;
  if (AUTH_SCHEME.test(text)) at = AUTH_SCHEME.lastIndex;
  let value = cookie ? COOKIE_LIST : BARE;
  if (text.startsWith('\\"', at)) {
    value = ESCAPED_QUOTED;
    at += 2;
  } else if (text[at] === '"' || text[at] === "'") {
    value = text[at] === '"' ? DOUBLE_QUOTED : SINGLE_QUOTED;
    at += 1;
  }
  // Masked already by an earlier rule (a private key, a URL password).
  if (text.startsWith(REDACTED, at)) return undefined;
  value.lastIndex = at;
  const found = value.exec(text);
  return found === null ? undefined : { from: at, to: at + found[0].length };
}

function skipBlanks(text: string, at: number): number {
  while (isBlank(text.charCodeAt(at))) at++;
  return at;
}

const isBlank = (c: number) => c === 32 || c === 9;
// [A-Za-z0-9_.-]
const isNameChar = (c: number) =>
  (c >= 97 && c <= 122) ||
  (c >= 65 && c <= 90) ||
  (c >= 48 && c <= 57) ||
  c === 95 ||
  c === 46 ||
  c === 45;

// ---------------------------------------------------------------------------------------
// Well-known API keys

// Vendor prefixes that are designed to be scanned for (GitHub secret scanning looks for
// the same shapes) and almost never occur in ordinary text; the prefix stays readable,
// the rest is masked. Kept short on purpose:
// - Stripe secret and restricted keys and webhook secrets: `sk_live_`, `sk_test_`,
//   `rk_live_`, `rk_test_`, `whsec_` (publishable `pk_` keys are public);
// - GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`;
// - Slack tokens: `xoxb-`, `xoxp-`, `xoxa-`, `xoxe-`, `xoxo-`, `xoxr-`, `xoxs-`;
// - AWS access key ids: `AKIA`/`ASIA` + 16 (the secret key has no shape; `aws_secret_access_key=`
//   is caught as an assignment);
// - Google API keys: `AIza` + 35;
// - OpenAI and Anthropic keys: `sk-` + 20 or more (`sk-proj-`, `sk-ant-`), the keys agents
//   are most often handed.
const KNOWN_TOKENS =
  /(?<![\w-])(?:((?:sk|rk)_(?:live|test)_)[\w-]{16,}|(whsec_)[\w+/=-]{16,}|(gh[opsur]_|github_pat_)\w{20,}|(xox[abeoprs]-)[\w-]{10,}|(AKIA|ASIA)[0-9A-Z]{16}(?![\w-])|(AIza)[\w-]{35}|(sk-)[\w-]{20,})/g;
const MIN_TOKEN_LENGTH = 15; // `xoxb-` and 10 more

function tokenReplacer(_match: string, ...groups: unknown[]): string {
  for (let i = 0; i < 7; i++) {
    const prefix = groups[i];
    if (typeof prefix === "string") return prefix + REDACTED;
  }
  return REDACTED;
}

// ---------------------------------------------------------------------------------------
// Bearer credentials, JWTs, cards, e-mail addresses

// `Bearer <credential>` (RFC 6750 token68 characters), any case: "Bearer [REDACTED]".
const BEARER = /\b(bearer)\s+[\w\-.~+/]+=*/gi;
const bearerReplacer = (_match: string, scheme: string) => `${scheme} ${REDACTED}`;
// A JWT (JWS compact form, also unsigned `alg: none`): three base64url segments, the
// header starting with `eyJ` (`{"`). Replaced where it stands, e.g. inside a URL.
const JWT = /(?<![\w-])eyJ[\w-]+\.[\w-]+\.[\w-]*/g;
// Card-number candidates: 13-19 digits in one run, or groups of 3-6 digits separated by a
// single space or dash (4-4-4-4, Amex 4-6-5). Two-digit groups are not accepted, so dates
// such as "2024-01-15 2024-02-20" and phone numbers do not look like cards.
const CARD = /(?<!\d)(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,})(?!\d)/g;
const HAS_DIGIT_GROUP = /\d{3}/;
// The usual address shape (RFC 5322 dot-atom, a domain with at least one dot), entered at
// the start of its local part only.
const EMAIL = /(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

/**
 * Card numbers are masked in full, not "all but the last 4": the audit log does not need
 * them, and a full mask also hides the BIN. A candidate counts as a card when it has 13-19
 * digits, passes the Luhn check, starts with 2-6 (Mastercard, Visa, Amex, Discover, JCB,
 * Diners, UnionPay, Maestro, Mir), and, with 13 digits, starts with 4 (old Visa). The
 * prefix rule keeps most epoch-millisecond timestamps (13 digits starting with 1) and other
 * long numbers, a tenth of which pass Luhn by chance. A separated candidate longer than 19
 * digits is masked as a whole if any run of its groups is a card.
 */
export function looksLikeCard(digits: string): boolean {
  const n = digits.length;
  if (n < 13 || n > 19) return false;
  const first = digits.charCodeAt(0) - 48;
  if (first < 2 || first > 6 || (n === 13 && first !== 4)) return false;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let d = digits.charCodeAt(n - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function cardReplacer(match: string): string {
  const groups = match.split(/[ -]/);
  if (groups.length === 1) return looksLikeCard(match) ? REDACTED : match;
  // Every run of consecutive groups: the whole match is usually the only candidate, but a
  // card may sit inside a longer sequence of groups.
  for (let start = 0; start < groups.length; start++) {
    let digits = "";
    for (let end = start; end < groups.length && digits.length < 19; end++) {
      digits += groups[end];
      if (looksLikeCard(digits)) return REDACTED;
    }
  }
  return match;
}
