// `upstreams:` of the config file (see schema.ts): each upstream MCP server (stdio or
// url), its credential (schema-credentials.ts) and its tool policies (schema-policy.ts).
import type { z } from "zod";
import { MIN_RESULT_BYTES, UPSTREAM_NAME } from "../check-options.js";
import {
  ALWAYS,
  AT_KEY,
  bool,
  duration,
  exactlyOne,
  integer,
  mappingOf,
  nonEmpty,
  scalarText,
  section,
  stringList,
  url,
} from "./fields.js";
import { isPlainObject } from "./interpolate.js";
import { credential } from "./schema-credentials.js";
import { policySchema } from "./schema-policy.js";

const NAME_EXPECTED =
  "must be 1-32 letters, digits, '_' or '-' (no dots: tools are published as <prefix>.<tool>)";
/** `maxResultBytes`, here and at the top of the file. */
export const RESULT_BYTES = MIN_RESULT_BYTES;
export const resultBytes = () =>
  integer(
    MIN_RESULT_BYTES,
    Number.MAX_SAFE_INTEGER,
    `must be an integer number of bytes, at least ${MIN_RESULT_BYTES} (default 4194304, 4 MiB)`,
  );
/** A variable name the child's environment can hold. */
const CHILD_ENV_NAME = /^[^=\0]+$/;

const childEnv = mappingOf(scalarText(), {
  expected: "must be a mapping of environment variable names to values",
}).superRefine((env, ctx) => {
  if (!isPlainObject(env)) return;
  for (const name of Object.keys(env)) {
    if (CHILD_ENV_NAME.test(name)) continue;
    ctx.addIssue({
      code: "custom",
      path: [name],
      params: AT_KEY,
      message: "is not an environment variable name",
    });
  }
}, ALWAYS);

const stdio = section(
  {
    command: nonEmpty(
      "must be a non-empty string: the program that starts the MCP server",
      "is required: the program that starts the MCP server, such as npx or node",
    )
      .meta({ type: "string" })
      .describe("the program that starts the server (`npx`, `node`, ...)"),
    args: stringList({ scalars: true, expected: "must be a list of arguments (strings)" })
      .optional()
      .meta({ type: "list (strings, numbers, booleans)", default: "none" })
      .describe("its arguments; relative paths mean what they mean in `cwd`"),
    env: childEnv
      .optional()
      .meta({ type: "mapping of name to value", default: "none" })
      .describe(
        "the child's environment: these variables only (plus PATH, HOME and the like); the " +
          "gateway's own is not inherited; `\"${GITHUB_TOKEN}\"` reads the gateway's",
      ),
    cwd: nonEmpty("must be a directory path")
      .optional()
      .meta({ type: "path", default: "the config file's directory" })
      .describe("the child's working directory"),
  },
  {
    expected: "must be a mapping: { command, args, env, cwd }",
    doc: { title: "Upstream `stdio`" },
  },
);

const upstream = (env: NodeJS.ProcessEnv) =>
  section(
    {
      stdio: stdio
        .optional()
        .meta({ type: "mapping", default: "one of `stdio`, `url`" })
        .describe("a server started as a child process ([below](#upstream-stdio))"),
      url: url()
        .optional()
        .meta({ type: "URL", default: "one of `stdio`, `url`" })
        .describe("a Streamable HTTP MCP endpoint (http or https)"),
      credential: credential(env)
        .optional()
        .meta({ type: "mapping (`url` only)", default: "none" })
        .describe(
          "the gateway's own credential at this upstream ([below](#upstream-credentials)); never the caller's token",
        ),
      discoveryCredential: credential(env)
        .optional()
        .meta({ type: "mapping (`url` only)", default: "`credential`" })
        .describe(
          "the credential for `initialize` and `tools/list`, which no user makes (needed with `tokenExchange`)",
        ),
      prefix: nonEmpty(NAME_EXPECTED)
        .refine((p) => UPSTREAM_NAME.test(p), NAME_EXPECTED)
        .optional()
        .meta({ type: "string (as the key)", default: "the key" })
        .describe("tools are published as `<prefix>.<tool>`"),
      timeout: duration()
        .optional()
        .meta({ type: "duration", default: "`defaultTimeout` (30 s)" })
        .describe("the deadline of this upstream's tools"),
      connectTimeout: duration()
        .optional()
        .meta({ type: "duration", default: "`10s`" })
        .describe(
          "bound on starting and initializing the upstream (a first `npx` run downloads its package); slower starts are retried",
        ),
      restart: section(
        { initialDelay: duration().optional(), maxDelay: duration().optional() },
        {
          nullIsEmpty: true,
          expected: "must be a mapping: { initialDelay: 500ms, maxDelay: 30s }",
        },
      )
        .superRefine((r, ctx) => {
          if (typeof r.initialDelay === "number" && typeof r.maxDelay === "number") {
            if (r.initialDelay > r.maxDelay)
              ctx.addIssue({
                code: "custom",
                path: ["maxDelay"],
                message: "must not be shorter than initialDelay",
              });
          }
        }, ALWAYS)
        .optional()
        .meta({ type: "`{ initialDelay, maxDelay }`", default: "`500ms`, `30s`" })
        .describe(
          "backoff between restarts (stdio) or reconnections (HTTP) after the upstream exits or drops; `maxDelay` ≥ `initialDelay`",
        ),
      maxResultBytes: resultBytes()
        .optional()
        .meta({ type: `integer ≥ ${MIN_RESULT_BYTES}`, default: "the top-level `maxResultBytes`" })
        .describe("bound on one answer of this upstream; on stdio, on every message it sends"),
      redactErrors: bool()
        .optional()
        .meta({ type: "boolean", default: "`true`" })
        .describe("mask secrets in the upstream's error texts before the model sees them"),
      honoursIdempotencyKey: bool()
        .optional()
        .meta({ type: "boolean", default: "detected per tool" })
        .describe(
          'the upstream deduplicates writes by `_meta["toolgate/idempotency-key"]`, so a write whose answer was lost may be resent; `false` never assumes it',
        ),
      defaults: policySchema
        .optional()
        .meta({ type: "policy", default: "none" })
        .describe(
          "the policy of every tool of this upstream without an entry ([policies](#tool-policies))",
        ),
      tools: mappingOf(policySchema, {
        nullIsEmpty: true,
        expected: "must be a mapping of the upstream's tool names to policies",
      })
        .optional()
        .meta({ type: "mapping of tool name to policy", default: "none" })
        .describe(
          "a policy per upstream tool, by the upstream's name (without the prefix); each must name a tool the upstream lists",
        ),
    },
    {
      expected: "must be a mapping with stdio: (a command to start) or url: (an MCP endpoint)",
      doc: {
        title: "`upstreams`",
        intro:
          "Each key names one upstream: 1-32 letters, digits, `_` or `-` (no dots: tools are " +
          "published as `<prefix>.<tool>`). Two upstreams may not share a prefix.",
      },
    },
  ).superRefine((m, ctx) => {
    exactlyOne(m, ctx, ["stdio", "url"], "use exactly one of stdio and url");
    if (!isPlainObject(m) || m.stdio === undefined) return;
    for (const key of ["credential", "discoveryCredential"] as const) {
      if (m[key] === undefined) continue;
      // Whatever is wrong inside it, it does not belong here: that is the one issue.
      const inside = (issue: { readonly path?: PropertyKey[] | undefined }) =>
        issue.path?.[0] === key;
      for (let i = ctx.issues.length - 1; i >= 0; i--) {
        if (inside(ctx.issues[i]!)) ctx.issues.splice(i, 1);
      }
      ctx.addIssue({
        code: "custom",
        path: [key],
        params: AT_KEY,
        message: "applies to url upstreams only; give a stdio server its secrets in stdio.env",
      });
    }
  }, ALWAYS);

export function upstreamsSchema(env: NodeJS.ProcessEnv) {
  return mappingOf(upstream(env), {
    required:
      "is required: list at least one upstream MCP server (a key with stdio: or url: under it)",
    expected: "must be a mapping of upstream names to servers (stdio: or url:)",
  }).superRefine(namesAndPrefixes, ALWAYS);
}

/** Valid names, at least one upstream, and no two with the same prefix. */
function namesAndPrefixes(upstreams: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(upstreams)) return;
  if (Object.keys(upstreams).length === 0) {
    ctx.addIssue("must list at least one upstream MCP server");
    return;
  }
  const prefixes = new Map<string, string>();
  for (const [key, item] of Object.entries(upstreams)) {
    if (!UPSTREAM_NAME.test(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        params: AT_KEY,
        message: `is not a valid upstream name: it ${NAME_EXPECTED}`,
      });
    }
    // An upstream with issues of its own is left out, as its prefix may be one of them.
    if (ctx.issues.some((issue) => issue.path?.[0] === key) || !isPlainObject(item)) continue;
    const own = typeof item.prefix === "string" ? item.prefix : undefined;
    const prefix = own ?? key;
    const other = prefixes.get(prefix);
    if (other === undefined) {
      prefixes.set(prefix, key);
      continue;
    }
    const message = `has the prefix '${prefix}' of upstreams.${other} too: their tool names would collide`;
    ctx.addIssue(
      own === undefined
        ? { code: "custom", path: [key], params: AT_KEY, message: `${message}; give one a prefix` }
        : { code: "custom", path: [key, "prefix"], message },
    );
  }
}
