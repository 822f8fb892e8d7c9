// The tokens of the differential test: valid ones for every algorithm, and tampered or
// malformed ones for every check a JWT verification makes (form, encoding, header,
// crit, alg, key choice, key size, signature, claims, typ). Built fresh per run.
import { exportSPKI } from "jose";
import { AUDIENCE, ISSUER, claims } from "./tokens.js";
import {
  bytesSegment,
  flipSignatureBit,
  highS,
  rawJws,
  segment,
  type Keys,
  type RawKey,
} from "./raw-jws.js";

export const OTHER_ISSUER = "https://second-issuer.example.test";
export const ALL_ALGORITHMS = ["RS", "PS", "ES"]
  .flatMap((f) => [256, 384, 512].map((b) => `${f}${b}`))
  .concat("EdDSA", "Ed25519");

export interface Case {
  name: string;
  token: string;
  /**
   * jose on Node 20 decodes base64url leniently ("=" padding, whitespace, non-zero spare
   * bits) and accepts these; the node:crypto path holds to RFC 7515 and refuses them.
   */
  strictOnly?: true;
}

type Payload = Record<string, unknown> | { raw: string };

/** A token signed by `key` as `alg`, with extra header members (undefined deletes). */
function token(key: RawKey, alg: string, payload: Payload = claims(), header = {}) {
  return rawJws({ alg, kid: key.kid, ...header }, payload, key.privateKey, alg);
}

const split = (t: string) => t.split(".") as [string, string, string];
const raw = (json: string) => ({ raw: bytesSegment(json) });

export async function buildCorpus(k: Keys): Promise<Case[]> {
  const cases: Case[] = [];
  const add = (name: string, t: string, strictOnly?: true) =>
    cases.push({ name, token: t, ...(strictOnly ? { strictOnly } : {}) });
  /** Signed by the real RSA key whatever the header says. */
  const rsaSigned = (header: unknown, payload: unknown = claims(), signAlg = "RS256") =>
    rawJws(header, payload, k.rsa.privateKey, signAlg);

  // Valid, one per algorithm and key type.
  for (const alg of ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]) {
    add(`valid ${alg}`, token(k.rsa, alg));
  }
  add("valid ES256", token(k.p256, "ES256"));
  add("valid ES384", token(k.p384, "ES384"));
  add("valid ES512", token(k.p521, "ES512"));
  add("valid EdDSA", token(k.ed, "EdDSA"));
  add("valid Ed25519 (fully specified alg)", token(k.ed, "Ed25519"));
  add("valid ES256, the other S (r, n - s)", highS(token(k.p256, "ES256")));
  add("valid, JWK alg matches", token(k.rsaRs256Only, "RS256"));
  const rs = token(k.rsa, "RS256");
  const [h, p, s] = split(rs);

  // Form and encoding.
  add("two parts", `${h}.${p}`);
  add("four parts", `${rs}.${s}`);
  add("trailing dot", `${rs}.`);
  add("empty parts", "..");
  add("empty signature", `${h}.${p}.`);
  add("signature missing 4 characters", rs.slice(0, -4));
  add("signature missing 1 character (length 4n+1)", rs.slice(0, -1));
  add("payload segment cut short", `${h}.${p.slice(0, -1)}.${s}`);
  add("non-ASCII in the payload segment", `${h}.${p.slice(0, -2)}é.${s}`);
  add("invalid base64url character in the signature", `${h}.${p}.${s.slice(0, -2)}+A`);
  add('signature padded with "="', `${rs}=`);
  // An RSA-2048 signature is 342 characters: "==" makes a quartet jose's atob takes.
  add('signature padded with "=="', `${rs}==`, s.length % 4 === 2 ? true : undefined);
  add("a space inside the signature", `${h}.${p}.${s.slice(0, 9)} ${s.slice(9)}`, true);
  add("a trailing space", `${rs} `, true);
  const last = s.at(-1)!;
  const spare = String.fromCharCode(last.charCodeAt(0) + 1); // low bits of the last char set
  add("non-zero spare bits in the signature", `${h}.${p}.${s.slice(0, -1)}${spare}`, true);
  const kidRs = { alg: "RS256", kid: "rsa-1" };
  const padded = (seg: string) => seg + "=".repeat((4 - (seg.length % 4)) % 4);
  if (h.length % 4 !== 0) {
    const t = rsaSigned({ raw: padded(h) }, { raw: p });
    add("padded header, signed as is", t, true);
  }
  // A payload whose segment needs padding (its length is not a multiple of 4).
  const payloadSeg = [1, 2, 3]
    .map((n) => segment({ ...claims(), pad: "x".repeat(n) }))
    .find((seg) => seg.length % 4 !== 0)!;
  const paddedPayload = { raw: padded(payloadSeg) };
  add("padded payload, signed as is", rsaSigned(kidRs, paddedPayload), true);

  // The header.
  const kid = { kid: "rsa-1" };
  for (const [name, json] of [
    ["an array", '["RS256"]'],
    ["null", "null"],
    ["a number", "123"],
    ["a string", '"RS256"'],
    ["invalid JSON", '{"alg":"RS256"'],
  ]) {
    add(`header is ${name}`, rsaSigned(raw(json!)));
  }
  add("header is not UTF-8", rsaSigned({ raw: bytesSegment(Buffer.from([0x7b, 0xff, 0x7d])) }));
  add("header has a UTF-8 BOM", rsaSigned(raw(`\ufeff{"alg":"RS256","kid":"rsa-1"}`)));
  add(
    "header names alg twice (last wins)",
    rsaSigned(raw('{"alg":"none","kid":"rsa-1","alg":"RS256"}')),
  );
  add("header is not base64url", `!!!.${p}.${s}`);

  // alg.
  add('alg "none", no signature', `${segment({ alg: "none" })}.${p}.`);
  add('alg "none" with a signature', rsaSigned({ alg: "none", ...kid }));
  add("alg missing", rsaSigned(kid));
  add("alg empty", rsaSigned({ alg: "", ...kid }));
  add("alg a number", rsaSigned({ alg: 256, ...kid }));
  add('alg "rs256" (case)', rsaSigned({ alg: "rs256", ...kid }));
  const pem = await exportSPKI(k.rsa.publicKey);
  add("HS256 keyed with the PEM", rawJws({ alg: "HS256", ...kid }, claims(), pem, "HS256"));
  add(
    "HS256 keyed with the JWK",
    rawJws({ alg: "HS256", ...kid }, claims(), JSON.stringify(k.rsa.jwk), "HS256"),
  );
  add("RS256 header, PS256 signature", rsaSigned({ alg: "RS256", ...kid }, claims(), "PS256"));
  add("PS256 header, RS256 signature", rsaSigned({ alg: "PS256", ...kid }));
  add("RS384 header, RS256 signature", rsaSigned({ alg: "RS384", ...kid }));
  for (const saltLength of [0, 20, 64]) {
    add(
      `PS256 with salt length ${saltLength}`,
      rawJws({ alg: "PS256", ...kid }, claims(), k.rsa.privateKey, "PS256", { saltLength }),
    );
  }
  add(
    "ES256 with a DER signature",
    rawJws({ alg: "ES256", kid: "ec-256" }, claims(), k.p256.privateKey, "ES256", { der: true }),
  );
  add(
    "alg none and an unknown crit (crit is checked first)",
    `${segment({ alg: "none", crit: ["x"], x: 1 })}.${p}.`,
  );

  // crit and b64 (RFC 7797).
  for (const [name, extra] of [
    ["crit naming an unknown extension", { crit: ["exp"], exp: 1 }],
    ["crit empty", { crit: [] }],
    ["crit not an array", { crit: "b64", b64: true }],
    ["crit with an empty name", { crit: [""] }],
    ["crit with a number", { crit: [1] }],
    ["crit b64 without b64", { crit: ["b64"] }],
    ["crit b64 with b64 a string", { crit: ["b64"], b64: "false" }],
    ["crit b64 with b64 false (unencoded payload)", { crit: ["b64"], b64: false }],
    ["crit b64 with b64 true", { crit: ["b64"], b64: true }],
    ["crit b64 twice with b64 true", { crit: ["b64", "b64"], b64: true }],
    ["crit b64 and an unknown name", { crit: ["b64", "exp"], b64: true, exp: 1 }],
    ["b64 false without crit (ignored)", { b64: false }],
  ] as const) {
    add(name, token(k.rsa, "RS256", claims(), extra));
  }

  // Key choice: kid, key type, curve, the JWK's own alg/use/key_ops, size, forgers.
  add("kid unknown", token(k.rsa, "RS256", claims(), { kid: "nobody" }));
  add("kid a number", token(k.rsa, "RS256", claims(), { kid: 42 }));
  add("no kid (several RSA keys match)", token(k.rsa, "RS256", claims(), { kid: undefined }));
  add("no kid, EdDSA (one key matches)", token(k.ed, "EdDSA", claims(), { kid: undefined }));
  add(
    "kid unknown and a bad signature encoding",
    `${segment({ alg: "RS256", kid: "nobody" })}.${p}.***`,
  );
  add(
    "alg refused and kid unknown",
    token(k.rsa, "RS256", claims(), { alg: "HS512", kid: "nobody" }),
  );
  add("ES256 header on the P-384 key (curve confusion)", token(k.p384, "ES256"));
  add("ES384 header on the P-256 key", token(k.p256, "ES384"));
  add("ES512 header on the P-384 key", token(k.p384, "ES512"));
  add(
    "ES256 header under an RSA kid",
    rawJws({ alg: "ES256", kid: "rsa-1" }, claims(), k.p256.privateKey, "ES256"),
  );
  add(
    "EdDSA header under an EC kid",
    rawJws({ alg: "EdDSA", kid: "ec-256" }, claims(), k.ed.privateKey, "EdDSA"),
  );
  add("RS256 header under the Ed25519 kid", rsaSigned({ alg: "RS256", kid: "ed-1" }));
  add("PS256 on a JWK restricted to RS256", token(k.rsaRs256Only, "PS256"));
  add('JWK with use "enc"', token(k.rsaEnc, "RS256"));
  add("JWK with key_ops without verify", token(k.rsaOps, "RS256"));
  add("RSA 1024-bit key", token(k.rsaSmall, "RS256"));
  add("RSA 1024-bit key, PS256", token(k.rsaSmall, "PS256"));
  add("forger's key under the real kid", token(k.forger, "RS256"));
  add("forger's EC key under the real kid", token(k.forgerEc, "ES256"));

  // Signature bits.
  for (const [name, t] of [
    ["RS256", rs],
    ["ES256", token(k.p256, "ES256")],
    ["EdDSA", token(k.ed, "EdDSA")],
    ["PS256", token(k.rsa, "PS256")],
  ] as const) {
    for (const at of [0, 17, -1])
      add(`${name} signature bit flip at byte ${at}`, flipSignatureBit(t, at, at === -1 ? 0 : 3));
  }
  add("payload swapped, signature kept", `${h}.${segment(claims({ scope: "admin" }))}.${s}`);

  // The payload.
  for (const [name, json] of [
    ["an array", "[1,2]"],
    ["a string", '"claims"'],
    ["null", "null"],
    ["a number", "42"],
    ["invalid JSON", '{"sub":'],
    ["empty", ""],
  ]) {
    add(`payload is ${name}`, token(k.rsa, "RS256", raw(json!)));
  }
  add(
    "payload is not UTF-8",
    token(k.rsa, "RS256", { raw: bytesSegment(Buffer.from([0x7b, 0xc3, 0x28, 0x7d])) }),
  );
  const c = claims();
  add(
    "payload with a __proto__ member",
    token(k.rsa, "RS256", raw(`{"__proto__":{"admin":true},${JSON.stringify(c).slice(1)}`)),
  );
  add(
    "exp 1e999 (Infinity)",
    token(k.rsa, "RS256", raw(JSON.stringify({ ...c, exp: "INF" }).replace('"INF"', "1e999"))),
  );
  add(
    "iat -1e999",
    token(k.rsa, "RS256", raw(JSON.stringify({ ...c, iat: "INF" }).replace('"INF"', "-1e999"))),
  );

  // Claims.
  const now = c.iat as number;
  const claimCases: [string, Record<string, unknown>][] = [
    ["iss another", { iss: "https://evil.example.test" }],
    ["iss the second issuer", { iss: OTHER_ISSUER }],
    ["iss a number", { iss: 7 }],
    ["iss null", { iss: null }],
    ["iss an array", { iss: [ISSUER] }],
    ["iss missing", { iss: undefined }],
    ["iss and exp missing (iss is named)", { iss: undefined, exp: undefined }],
    ["sub and iat missing (sub is named)", { sub: undefined, iat: undefined }],
    ["aud another", { aud: "https://evil.example.test/mcp" }],
    ["aud an array with it", { aud: ["https://x.test", AUDIENCE] }],
    ["aud an array with it and a number", { aud: [1, AUDIENCE] }],
    ["aud an empty array", { aud: [] }],
    ["aud a number", { aud: 1 }],
    ["aud null", { aud: null }],
    ["aud missing", { aud: undefined }],
    ["sub missing", { sub: undefined }],
    ["sub empty", { sub: "" }],
    ["sub a number", { sub: 42 }],
    ["sub null", { sub: null }],
    ["exp missing", { exp: undefined }],
    ["exp a string", { exp: String(now + 60) }],
    ["exp null", { exp: null }],
    ["iat missing", { iat: undefined }],
    ["iat a string", { iat: String(now) }],
    ["nbf a string", { nbf: String(now) }],
    ["nbf null", { nbf: null }],
    ["nbf in the past", { nbf: now - 60 }],
    ["nbf an hour ahead", { nbf: now + 3600 }],
    ["iat an hour ahead", { iat: now + 3600, exp: now + 3700 }],
    ["expired an hour ago", { iat: now - 4000, exp: now - 3600 }],
    ["exp before iat", { iat: now + 10, exp: now + 5 }],
    ["lifetime 3600 s", { exp: now + 3600 }],
    ["lifetime 3601 s", { exp: now + 3601 }],
    ["lifetime 2 h", { exp: now + 7200 }],
    ["a fractional exp", { exp: now + 60.5 }],
    ["scope a number", { scope: 42 }],
    ["tenant an array", { tenant: ["a"] }],
  ];
  for (const [name, overrides] of claimCases) add(name, token(k.rsa, "RS256", claims(overrides)));

  // typ (checked only where configured).
  for (const typ of ["at+jwt", "AT+JWT", "application/at+jwt", "JWT", "application/jwt", 42]) {
    add(`typ ${JSON.stringify(typ)}`, token(k.p256, "ES256", claims(), { typ }));
  }
  add("typ missing", token(k.p256, "ES256"));
  return cases;
}
