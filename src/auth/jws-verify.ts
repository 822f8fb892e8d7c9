// The signature half of a JWT check: a compact JWS (RFC 7515 §7.1) verified with
// node:crypto. Why not jose's jwtVerify: on a verified-token cache miss (many distinct
// users) its WebCrypto path costs several times node:crypto's one-shot verify for the
// same key (bench/jwt-verify.ts). The checks are jose's, in jose's order, so a token is
// refused with the same message as before; the key lookup itself (JWKS selection by
// `kid`/`kty`/`crv`/`alg`/`use`/`key_ops`, refetch and cooldown) is still jose's.
import { KeyObject, constants, verify, type webcrypto } from "node:crypto";
import type { CompactJWSHeaderParameters, JWTVerifyGetKey } from "jose";
import { AuthError } from "./verifier.js";

// The refusals a JWS can earn. Safe messages: never the token, a header value or a key.
export const malformedToken = () =>
  new AuthError("invalid_token", "The token is malformed or its signature is not valid.");
export const unknownSigningKey = () =>
  new AuthError("invalid_token", "The token is signed with an unknown signing key.");
const algorithmNotAccepted = () =>
  new AuthError("invalid_token", "The token's signing algorithm is not accepted.");

/** Where the verification key comes from: a JWKS resolver (by `kid`) or fixed keys. */
export type JwsKeySource =
  { readonly getKey: JWTVerifyGetKey } | { readonly keys: readonly KeyObject[] };

export interface VerifiedJws {
  /** The protected header: a JSON object with a string `alg` from the allow-list. */
  header: Readonly<Record<string, unknown>>;
  /** The payload bytes, signature checked; what they mean is the JWT layer's business. */
  payload: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Strict base64url (RFC 7515 §2: no padding, no whitespace): its alphabet only, and the
 * unused low bits of the last character zero, so each segment has one spelling. jose on
 * Node 20 decodes with atob, which also takes "=" padding, whitespace and non-zero spare
 * bits: a valid token with "==" or a space added to its signature verified there.
 */
function decodeSegment(segment: string): Buffer | undefined {
  const spare = segment.length % 4;
  if (spare === 1 || !B64URL.test(segment)) return undefined;
  if (spare !== 0 && (ALPHABET.indexOf(segment.at(-1)!) & (spare === 2 ? 0x0f : 0x03)) !== 0) {
    return undefined;
  }
  return Buffer.from(segment, "base64url");
}

// jose decodes with a fatal UTF-8 decoder (which, like this one, drops a leading BOM).
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A decoded JSON object (not an array, not null), as jose's `isObject`; else undefined. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * RFC 7515 §4.1.11 `crit`: the only extension jose understands is RFC 7797's `b64`, so
 * any other name refuses the token; `b64` must then be a boolean in the header. Returns
 * whether the payload is base64url-encoded (false is refused later: a JWT must be).
 */
function checkCrit(header: Readonly<Record<string, unknown>>): boolean {
  const { crit } = header;
  if (crit === undefined) return true;
  if (
    !Array.isArray(crit) ||
    crit.length === 0 ||
    crit.some((name) => typeof name !== "string" || name === "")
  ) {
    throw malformedToken();
  }
  for (const name of crit as unknown[]) {
    if (name !== "b64" || !Object.hasOwn(header, name)) throw malformedToken();
  }
  if (typeof header.b64 !== "boolean") throw malformedToken();
  return header.b64;
}

const CURVES: Readonly<Record<string, string>> = {
  ES256: "prime256v1",
  ES384: "secp384r1",
  ES512: "secp521r1",
};

/**
 * Whether `key` may verify a JWS with `alg` (RFC 7518 §3.1): RSA for RS*, RSA or RSA-PSS
 * for PS*, the curve the alg names for ES* (ES256 on a P-384 key is curve confusion),
 * Ed25519 for EdDSA. Fixed keys are picked by this; JWKS keys were picked by jose by
 * `kty`/`crv` and are checked again here.
 */
function keyFitsAlgorithm(key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith("RS")) return type === "rsa";
  if (alg.startsWith("PS")) return type === "rsa" || type === "rsa-pss";
  const curve = CURVES[alg];
  if (curve !== undefined) return type === "ec" && key.asymmetricKeyDetails?.namedCurve === curve;
  if (alg === "EdDSA" || alg === "Ed25519") return type === "ed25519";
  return false;
}

/** jose refuses RSA keys under 2048 bits for RS* and PS* (RFC 7518 §3.3, §3.5). */
function checkKeySize(key: KeyObject, alg: string): void {
  if (!alg.startsWith("RS") && !alg.startsWith("PS")) return;
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined || bits < 2048) throw malformedToken();
}

const PSS = constants.RSA_PKCS1_PSS_PADDING;

/** node:crypto's `verify` for `alg`: RFC 7518 §3.3-3.5, RFC 8037 §3.1. False on any error. */
function signatureValid(alg: string, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  const bits = alg.slice(2);
  const hash = bits === "256" || bits === "384" || bits === "512" ? `sha${bits}` : null;
  try {
    if (alg.startsWith("RS")) {
      return verify(hash, input, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    // Salt length = hash length, exactly, as WebCrypto's RSA-PSS verify in jose.
    if (alg.startsWith("PS")) {
      const saltLength = Number(bits) / 8;
      return verify(hash, input, { key, padding: PSS, saltLength }, signature);
    }
    // JWS ECDSA signatures are R || S (IEEE P1363), never DER: a DER one is refused.
    if (alg.startsWith("ES"))
      return verify(hash, input, { key, dsaEncoding: "ieee-p1363" }, signature);
    return verify(null, input, key, signature);
  } catch {
    // e.g. an RSA-PSS key whose parameters forbid this hash: jose fails these alike.
    return false;
  }
}

// jose's JWKS resolver hands back one cached CryptoKey per JWK and alg: each becomes a
// KeyObject once, so a verification converts nothing.
const keyObjects = new WeakMap<object, KeyObject>();

function toKeyObject(key: unknown): KeyObject {
  if (key instanceof KeyObject) return key;
  if (typeof key !== "object" || key === null) throw malformedToken();
  let object = keyObjects.get(key);
  if (object === undefined) {
    try {
      object = KeyObject.from(key as webcrypto.CryptoKey);
    } catch {
      throw malformedToken();
    }
    keyObjects.set(key, object);
  }
  return object;
}

/**
 * Verifies a compact JWS and returns its header and payload bytes. Throws AuthError for
 * the token's faults; a key source's own failures (JWKS down, unknown `kid`) propagate
 * as jose and jwks-cache.ts throw them, for the caller to map. Order, as jose's: form,
 * header, `crit`, `alg` allow-list, key lookup, then payload/signature encoding, key
 * size and the signature, so each failure keeps the message it had.
 */
export async function verifyJws(
  token: string,
  algorithms: ReadonlySet<string>,
  source: JwsKeySource,
): Promise<VerifiedJws> {
  const parts = token.split(".");
  if (parts.length !== 3) throw malformedToken();
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const headerBytes = decodeSegment(encodedHeader);
  const header = headerBytes && parseJsonObject(headerBytes);
  if (header === undefined) throw malformedToken();
  const b64 = checkCrit(header);
  const { alg } = header;
  if (typeof alg !== "string" || alg === "") throw malformedToken();
  if (!algorithms.has(alg)) throw algorithmNotAccepted();

  let candidates: readonly KeyObject[];
  if ("getKey" in source) {
    const found = await source.getKey(header as CompactJWSHeaderParameters, {
      protected: encodedHeader,
      payload: encodedPayload,
      signature: encodedSignature,
    });
    const key = toKeyObject(found);
    if (key.type !== "public" || !keyFitsAlgorithm(key, alg)) throw malformedToken();
    candidates = [key];
  } else {
    // Fixed keys carry no `kid`: each one that fits `alg` is tried, in order.
    candidates = source.keys.filter((key) => keyFitsAlgorithm(key, alg));
    if (candidates.length === 0) throw unknownSigningKey();
  }

  // RFC 7519 §7.2: a JWT's payload is base64url-encoded; `b64: false` is not a JWT.
  if (!b64) throw malformedToken();
  const payload = decodeSegment(encodedPayload);
  const signature = decodeSegment(encodedSignature);
  if (payload === undefined || signature === undefined) throw malformedToken();
  // All three segments are base64url (ASCII), so latin1 gives exactly the signed bytes.
  const input = Buffer.from(
    token.slice(0, encodedHeader.length + 1 + encodedPayload.length),
    "latin1",
  );
  for (const key of candidates) {
    checkKeySize(key, alg);
    if (signatureValid(alg, key, input, signature)) return { header, payload };
  }
  throw malformedToken();
}
