// `credential:` and `discoveryCredential:` of a url upstream (see schema-upstreams.ts):
// the gateway's own credential at the upstream, its secrets named by variable.
import type { z } from "zod";
import { CLIENT_SECRET_REQUIRED } from "./schema-auth.js";
import { ALWAYS, choice, envVariable, exactlyOne, nonEmpty, section, url } from "./fields.js";
import { isPlainObject } from "./interpolate.js";
import { scopes } from "./schema-policy.js";

export const CREDENTIAL_KINDS = ["static", "clientCredentials", "tokenExchange"] as const;

/** `authorization: <secret>` or `authorization: Bearer <secret>`? The file must say which. */
function schemeRequired(m: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(m) || m.scheme !== undefined || typeof m.env !== "string") return;
  // The message names the variable: only once it is a good one.
  if (ctx.issues.some((issue) => issue.path?.[0] === "env")) return;
  const header = typeof m.header === "string" ? m.header : "authorization";
  if (header.toLowerCase() !== "authorization") return;
  // A wrong guess is a 401 at the upstream long after startup.
  ctx.addIssue({
    code: "custom",
    path: ["scheme"],
    message:
      `is required with the authorization header: write scheme: Bearer to send "authorization: Bearer <the value of ${m.env}>", ` +
      `or scheme: none when ${m.env} holds the whole header value (such as "Basic dXNlcjpwYXNz")`,
  });
}

const staticCredential = (env: NodeJS.ProcessEnv) =>
  section(
    {
      env: envVariable(
        env,
        "is required: the name of the environment variable holding the secret",
      ).describe("**required**: the variable holding the secret, read at load"),
      header: nonEmpty("must be an HTTP header name")
        .optional()
        .describe("the header to send (default `authorization`)"),
      scheme: nonEmpty("must be one word, such as Bearer, or none")
        .optional()
        .describe(
          "with the `authorization` header **required**: `Bearer` sends `Bearer <secret>`, `none` " +
            "sends the value as it is; another header gets the value as it is unless a `scheme` is given",
        ),
    },
    { expected: "must be a mapping: { env, header, scheme }" },
  ).superRefine(schemeRequired, ALWAYS);

const oauthShape = (env: NodeJS.ProcessEnv) => ({
  tokenUrl: url({ secure: true }).describe(
    "**required**: the token endpoint; https (http only on loopback)",
  ),
  clientId: nonEmpty().describe("**required**: the gateway's client id"),
  clientSecretEnv: envVariable(env, CLIENT_SECRET_REQUIRED).describe(
    "**required**: the variable holding the client secret",
  ),
  scope: scopes().optional().describe("the scopes to ask for"),
  audience: nonEmpty().optional().describe("the audience to ask for"),
  authMethod: choice(["client_secret_basic", "client_secret_post"])
    .optional()
    .describe("`client_secret_basic` (default) or `client_secret_post`"),
});
const OAUTH_KEYS = "tokenUrl, clientId, clientSecretEnv, scope, audience, authMethod";

const clientCredentials = (env: NodeJS.ProcessEnv) =>
  section(oauthShape(env), { expected: `must be a mapping: { ${OAUTH_KEYS} }` });

const tokenExchange = (env: NodeJS.ProcessEnv) =>
  section(
    {
      ...oauthShape(env),
      audience: nonEmpty(
        undefined,
        "is required: the backend the exchanged token is for (RFC 8693 audience)",
      ).describe("**required**: the backend the exchanged token is for (RFC 8693)"),
      resource: url({ expected: "must be an absolute URL: the backend's URI (RFC 8707 resource)" })
        .optional()
        .describe("the backend's URI (RFC 8707)"),
    },
    { expected: `must be a mapping: { ${OAUTH_KEYS}, resource }` },
  );

export const credential = (env: NodeJS.ProcessEnv) =>
  section(
    {
      static: staticCredential(env)
        .optional()
        .meta({
          type: "`env` (**required**, variable name), `header` (default `authorization`), `scheme`",
          default: "one of the three",
        })
        .describe(
          "a secret read from the environment at load. With the `authorization` header `scheme` is " +
            "**required**: `Bearer` sends `Bearer <secret>`, `none` sends the value as it is; another " +
            "header gets the value as it is unless a `scheme` is given",
        ),
      clientCredentials: clientCredentials(env)
        .optional()
        .meta({
          type:
            "`tokenUrl` (**required**), `clientId` (**required**), `clientSecretEnv` (**required**), " +
            "`scope`, `audience`, `authMethod`",
          default: "one of the three",
        })
        .describe(
          "OAuth 2.0 client credentials, a token cached until it expires; `authMethod` is " +
            "`client_secret_basic` (default) or `client_secret_post`; `tokenUrl` https (http only on loopback)",
        ),
      tokenExchange: tokenExchange(env)
        .optional()
        .meta({
          type: "as `clientCredentials`, with `audience` **required**, and `resource` (URL)",
          default: "one of the three",
        })
        .describe(
          "RFC 8693: a token per calling user for this upstream; set `discoveryCredential` for " +
            "`initialize` and `tools/list`",
        ),
    },
    {
      expected: "must be a mapping with one of static, clientCredentials or tokenExchange",
      doc: {
        title: "Upstream credentials",
        intro: "`credential` and `discoveryCredential` take exactly one of:",
      },
    },
  ).superRefine(
    (m, ctx) =>
      exactlyOne(
        m,
        ctx,
        CREDENTIAL_KINDS,
        "use exactly one of static, clientCredentials and tokenExchange",
      ),
    ALWAYS,
  );
