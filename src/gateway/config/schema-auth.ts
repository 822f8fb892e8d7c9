// `auth:` of the config file (see schema.ts): who may call the gateway.
import { z } from "zod";
import {
  ALWAYS,
  AT_KEY,
  bool,
  byKind,
  envVariable,
  exactlyOne,
  nonEmpty,
  section,
  stringList,
  url,
} from "./fields.js";
import { isPlainObject } from "./interpolate.js";

export const AUTH_KINDS = ["jwt", "introspection", "dev", "none"] as const;
const AUDIENCE_REQUIRED =
  "is required: the audience (aud) tokens for this gateway carry, usually its URL";
export const CLIENT_SECRET_REQUIRED =
  "is required: the name of the environment variable holding the client secret (secrets never go in the file)";

const jwt = section(
  {
    issuer: stringList({
      required: "is required: the token issuer (iss), a URL or a list of them",
      allowSingle: true,
      nonEmpty: true,
      expected: "must be the token issuer (iss), a string or a list of them",
    })
      .meta({ type: "string or list" })
      .describe("the accepted `iss` value(s)"),
    audience: nonEmpty(undefined, AUDIENCE_REQUIRED)
      .meta({ type: "string" })
      .describe("the `aud` tokens for this gateway carry, usually its URL"),
    jwksUrl: url({ secure: true })
      .optional()
      .meta({ type: "URL", default: "one of `jwksUrl`, `jwksFile`" })
      .describe("the issuer's JWKS endpoint; https (http only on localhost, 127.0.0.1 or [::1])"),
    jwksFile: nonEmpty("must be a file path")
      .optional()
      .meta({ type: "path", default: "one of `jwksUrl`, `jwksFile`" })
      .describe('a JSON file `{ "keys": [...] }` (relative to the config file)'),
    algorithms: stringList({
      nonEmpty: true,
      expected: "must be a list of signature algorithms, such as [RS256, ES256]",
    })
      .optional()
      .meta({ type: "list", default: "`RS256`, `ES256`, `PS256`, `EdDSA`" })
      .describe("accepted signature algorithms (asymmetric only; `none` and HS\\* are refused)"),
    typ: nonEmpty("must be a token type, such as at+jwt")
      .optional()
      .meta({ type: "string", default: "not checked" })
      .describe(
        "the required JWT `typ` header, e.g. `at+jwt` (RFC 9068), so ID tokens are not accepted",
      ),
  },
  {
    doc: {
      title: "`auth.jwt`",
      intro: "JWT access tokens checked against a JWKS, as [`jwtVerifier`](auth.md):",
    },
  },
).superRefine(
  (m, ctx) =>
    exactlyOne(m, ctx, ["jwksUrl", "jwksFile"], "needs exactly one of jwksUrl and jwksFile"),
  ALWAYS,
);

const introspection = (env: NodeJS.ProcessEnv) =>
  section(
    {
      url: url({ secure: true })
        .meta({ type: "URL" })
        .describe("the introspection endpoint; https (http only on loopback)"),
      clientId: nonEmpty()
        .meta({ type: "string" })
        .describe("the gateway's client id at the authorization server"),
      clientSecretEnv: envVariable(env, CLIENT_SECRET_REQUIRED)
        .meta({ type: "environment variable" })
        .describe("the name of the variable holding the client secret (must be set)"),
      audience: nonEmpty(undefined, AUDIENCE_REQUIRED)
        .meta({ type: "string" })
        .describe("the `aud` an active token's answer must contain when it has one"),
      issuer: nonEmpty()
        .optional()
        .meta({ type: "string", default: "none" })
        .describe(
          "when set, an answer's `iss` must equal it; the principal's issuer when the answer has none",
        ),
    },
    {
      doc: {
        title: "`auth.introspection`",
        intro: "Opaque tokens, RFC 7662, as [`introspectionVerifier`](auth.md):",
      },
    },
  );

const DEV_EXPECTED = "must be a mapping ({ keyFile: ... }), empty, or true";
const dev = byKind(
  {
    boolean: z.literal(true, { error: DEV_EXPECTED }),
    mapping: section(
      {
        keyFile: nonEmpty("must be a file path")
          .optional()
          .meta({ type: "path", default: "`.toolgate/dev-issuer.json` beside the file" })
          .describe("the dev issuer's key file (ES256)"),
      },
      {
        nullIsEmpty: true,
        expected: DEV_EXPECTED,
        doc: {
          title: "`auth.dev`",
          intro:
            "The local dev issuer; mint its tokens with `toolgate token --key-file`. `dev:`, " +
            "`dev: {}` or `dev: true`, with one optional key:",
        },
      },
    ),
  },
  DEV_EXPECTED,
);

export function authSchema(env: NodeJS.ProcessEnv) {
  return section(
    {
      jwt: jwt
        .optional()
        .meta({ type: "mapping", default: "one of the four" })
        .describe("JWT access tokens ([below](#authjwt))"),
      introspection: introspection(env)
        .optional()
        .meta({ type: "mapping", default: "one of the four" })
        .describe(
          "opaque tokens checked at the authorization server ([below](#authintrospection))",
        ),
      dev: dev
        .optional()
        .meta({ type: "mapping, empty or `true`", default: "one of the four" })
        .describe("the local dev issuer ([below](#authdev))"),
      none: z
        .literal(true, {
          error:
            "must be true (anonymous access); to require tokens, configure jwt, introspection or dev instead",
        })
        .optional()
        .meta({ type: "`true`", default: "one of the four" })
        .describe(
          "anonymous calls, no token; allowed only when `listen.host` is a loopback address " +
            "(127.x, `::1`, `localhost`), and refused at startup when `--host` would bind another",
        ),
      resource: url({
        expected:
          "must be an absolute http:// or https:// URL (this gateway's resource identifier)",
      })
        .optional()
        .meta({ type: "URL", default: "the verifier's audience, else the URL it listens on" })
        .describe(
          "this gateway's resource identifier (RFC 8707), in its RFC 9728 metadata; not with `none`",
        ),
      stepUp: bool()
        .optional()
        .meta({ type: "boolean", default: "`false`" })
        .describe(
          "a `tools/call` missing a scope gets HTTP 403 `insufficient_scope` (so an OAuth client can " +
            "ask for more) instead of a `forbidden` result; not with `none`",
        ),
    },
    {
      required:
        "is required: configure exactly one of jwt, introspection, dev, or none: true (anonymous, loopback only)",
      doc: {
        title: "`auth`",
        intro: "Exactly one of `jwt`, `introspection`, `dev` and `none`, plus two optional keys:",
      },
    },
  ).superRefine((m, ctx) => {
    exactlyOne(m, ctx, AUTH_KINDS, "use exactly one of jwt, introspection, dev and none");
    if (!isPlainObject(m) || AUTH_KINDS.some((k) => k !== "none" && m[k] !== undefined)) return;
    if (m.none === undefined) return;
    for (const key of ["resource", "stepUp"] as const) {
      if (m[key] === undefined) continue;
      ctx.addIssue({
        code: "custom",
        path: [key],
        params: AT_KEY,
        message: "does not apply to auth.none (anonymous calls carry no token)",
      });
    }
  }, ALWAYS);
}
