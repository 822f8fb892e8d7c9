// Which names look like secrets: the rule for object keys in tool arguments, and for
// `name=value` / `name: value` assignments inside free text (see secret-text.ts).

// Words of a key: `accessToken`, `access_token`, `ACCESS-TOKEN` and `X-Api-Key` all split
// into words; `APIKey` into `API`, `Key`.
const WORDS = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g;
// A word (or two adjacent words joined, for `api_key`, `private-key`, `cardNumber`) that
// contains one of these is sensitive: `password_hash`, `newPassword`, `x-api-key`, `Set-Cookie`.
const CONTAINS = [
  "password",
  "passwd",
  "passphrase",
  "credential",
  "authorization",
  "cookie",
  "apikey",
  "privatekey",
  "cardnumber",
];
// ...or ends with one of these (`client_secret`, `clientsecret`) but `secretary` does not.
const ENDS_WITH = ["secret", "secrets"];
// ...or is one of these whole words (as substrings they would match far too much).
const EXACT = new Set(["pwd", "cvv", "cvc", "pan"]);

/**
 * The default key rule (case-insensitive, on any key at any depth).
 *
 * `token` is special: the key's LAST word must end in `token` (`token`, `access_token`,
 * `refreshToken`, `apiToken`, `x-auth-token`, `accesstoken`, `pageToken`). So `tokens_used`,
 * `max_tokens`, `token_count` and `token_type` are kept: in tool arguments "token" is often an
 * LLM token count, not a credential. Pagination tokens are masked (harmless).
 * Known false positives, accepted: `pan` (camera pan), `secret_name`, `api_key_id`.
 */
export function keyLooksSensitive(key: string): boolean {
  const words = key.match(WORDS);
  if (!words) return false;
  let previous = "";
  for (const raw of words) {
    const word = raw.toLowerCase();
    if (EXACT.has(word) || wordMatches(word) || (previous !== "" && wordMatches(previous + word)))
      return true;
    previous = word;
  }
  return previous.endsWith("token");
}

function wordMatches(word: string): boolean {
  for (const part of CONTAINS) if (word.includes(part)) return true;
  for (const end of ENDS_WITH) if (word.endsWith(end)) return true;
  return false;
}
