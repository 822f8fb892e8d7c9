// Hand-built compact JWS tokens, signed with node:crypto: jose's SignJWT will not make
// the malformed and hostile ones (crit it does not know, b64 false in a JWT, DER ECDSA
// signatures, wrong PSS salt, a header that is not an object) the differential test needs.
import {
  constants,
  createHmac,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type webcrypto,
} from "node:crypto";

export type KeyKind = "rsa" | "rsa1024" | "rsa-pss" | "p256" | "p384" | "p521" | "ed25519";

export interface RawKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK with `kid` and any `extra` members (alg, use, key_ops). */
  jwk: webcrypto.JsonWebKey & { kid: string };
}

const CURVE = { p256: "prime256v1", p384: "secp384r1", p521: "secp521r1" } as const;

export function makeRawKey(kind: KeyKind, kid: string, extra: Record<string, unknown> = {}) {
  const pair =
    kind === "rsa" || kind === "rsa1024"
      ? generateKeyPairSync("rsa", { modulusLength: kind === "rsa" ? 2048 : 1024 })
      : kind === "rsa-pss"
        ? generateKeyPairSync("rsa-pss", { modulusLength: 2048 })
        : kind === "ed25519"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("ec", { namedCurve: CURVE[kind] });
  const jwk =
    kind === "rsa-pss" ? { kid } : { ...pair.publicKey.export({ format: "jwk" }), kid, ...extra };
  return { kid, ...pair, jwk } satisfies RawKey;
}

/** The keys the differential test signs with (jws-corpus.ts); forgers are in no key set. */
export function makeKeys() {
  return {
    rsa: makeRawKey("rsa", "rsa-1"),
    rsaRs256Only: makeRawKey("rsa", "rsa-rs256", { alg: "RS256" }),
    rsaEnc: makeRawKey("rsa", "rsa-enc", { use: "enc" }),
    rsaOps: makeRawKey("rsa", "rsa-ops", { key_ops: ["encrypt"] }),
    rsaSmall: makeRawKey("rsa1024", "rsa-small"),
    p256: makeRawKey("p256", "ec-256", { use: "sig" }),
    p384: makeRawKey("p384", "ec-384"),
    p521: makeRawKey("p521", "ec-521"),
    ed: makeRawKey("ed25519", "ed-1"),
    forger: makeRawKey("rsa", "rsa-1"),
    forgerEc: makeRawKey("p256", "ec-256"),
  };
}
export type Keys = ReturnType<typeof makeKeys>;

/** The JWKS every JWKS-backed verifier in the test serves (no forger keys). */
export const jwksOf = (k: Keys) => ({
  keys: [k.rsa, k.rsaRs256Only, k.rsaEnc, k.rsaOps, k.rsaSmall, k.p256, k.p384, k.p521, k.ed].map(
    (key) => key.jwk,
  ),
});

/** A JSON value as a base64url segment; `{ raw }` is taken as the segment itself. */
export function segment(value: unknown): string {
  if (typeof value === "object" && value !== null && "raw" in value) {
    return String(value.raw);
  }
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export const bytesSegment = (bytes: Uint8Array | string) =>
  Buffer.from(bytes).toString("base64url");

export interface SignOptions {
  /** PSS salt length; default the hash length (RFC 7518 §3.5). */
  saltLength?: number;
  /** ECDSA signature in DER instead of R || S. */
  der?: boolean;
}

/** The signature `alg` prescribes over `input`; an HMAC when `key` is a secret. */
export function signatureOf(
  alg: string,
  key: KeyObject | string,
  input: string,
  options: SignOptions = {},
): Buffer {
  const bits = alg.slice(2);
  const hash = `sha${bits}`;
  if (alg === "none") return Buffer.alloc(0);
  if (typeof key === "string" || alg.startsWith("HS")) {
    return createHmac(hash, key).update(input).digest();
  }
  if (alg.startsWith("RS")) {
    return sign(hash, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PADDING });
  }
  if (alg.startsWith("PS")) {
    const saltLength = options.saltLength ?? Number(bits) / 8;
    return sign(hash, Buffer.from(input), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength,
    });
  }
  if (alg.startsWith("ES")) {
    const dsaEncoding = options.der ? "der" : "ieee-p1363";
    return sign(hash, Buffer.from(input), { key, dsaEncoding });
  }
  return sign(null, Buffer.from(input), key);
}

/** `header.payload.signature`, signed as `signAlg` says (the header's alg by default). */
export function rawJws(
  header: unknown,
  payload: unknown,
  key: KeyObject | string,
  signAlg: string,
  options: SignOptions = {},
): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${signatureOf(signAlg, key, input, options).toString("base64url")}`;
}

/** P-256's group order: (r, n - s) is the other valid ECDSA signature of the same input. */
const P256_N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

export function highS(es256Token: string): string {
  const dot = es256Token.lastIndexOf(".");
  const sig = Buffer.from(es256Token.slice(dot + 1), "base64url");
  const s = BigInt(`0x${sig.subarray(32).toString("hex")}`);
  const flipped = Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex");
  return `${es256Token.slice(0, dot)}.${Buffer.concat([sig.subarray(0, 32), flipped]).toString("base64url")}`;
}

/** The token with bit `bit` of signature byte `index` flipped (negative: from the end). */
export function flipSignatureBit(token: string, index: number, bit = 0): string {
  const dot = token.lastIndexOf(".");
  const sig = Buffer.from(token.slice(dot + 1), "base64url");
  const at = index < 0 ? sig.length + index : index;
  sig[at] = sig[at]! ^ (1 << bit);
  return `${token.slice(0, dot)}.${sig.toString("base64url")}`;
}
