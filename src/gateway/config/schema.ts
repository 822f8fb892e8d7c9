// The gateway's config file, `toolgate.yaml`, as ONE zod schema: its types (z.input is
// what the file may hold, z.output the checked file), its checks (each message says what
// to write instead), and, in `.meta()`, the reference of every key in docs/gateway.md
// (written by `npm run docs:gateway`, scripts/gen-gateway-reference.ts). Auth is in
// schema-auth.ts, upstreams and tool policies in schema-upstreams.ts; to-spec.ts turns a
// checked file into a ConfigSpec (absolute paths, secrets read).
import { z } from "zod";
import { AUDIT_SINK_SPECS } from "../../audit/sink-spec.js";
import { authSchema } from "./schema-auth.js";
import { RESULT_BYTES, resultBytes, upstreamsSchema } from "./schema-upstreams.js";
import {
  ALWAYS,
  bool,
  byKind,
  duration,
  integer,
  kindOf,
  nonEmpty,
  rateLimit,
  section,
  stringList,
} from "./fields.js";
import { isPlainObject } from "./interpolate.js";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 3000;
/** Where anonymous access is allowed: only this machine can reach the gateway. */
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/i;
const STORE_EXPECTED =
  "must be memory, sqlite:<path>, postgres://..., postgresql://..., redis://... or rediss://...";
const SINK_EXPECTED = `must be an audit sink: ${AUDIT_SINK_SPECS}`;
const PATH_EXPECTED = "must be a path starting with /";
const HOSTS_EXPECTED = "must be a list of host names";

const httpPath = () =>
  nonEmpty(PATH_EXPECTED).refine((p) => p.startsWith("/"), { error: PATH_EXPECTED });

const listen = section(
  {
    host: nonEmpty("must be a host name or IP address")
      .optional()
      .meta({ type: "string", default: "`127.0.0.1`" })
      .describe("the address to bind (`--host` overrides it)"),
    port: integer(0, 65535, "must be a port number from 0 to 65535 (0 = any free port)")
      .optional()
      .meta({ type: "integer 0-65535", default: "`3000`" })
      .describe("the port; `0` picks a free one (`--port` overrides it)"),
    path: httpPath()
      .optional()
      .meta({ type: "string starting `/`", default: "`/mcp`" })
      .describe("the MCP endpoint's path"),
    maxBodyBytes: integer(1, Number.MAX_SAFE_INTEGER, "must be a positive integer number of bytes")
      .optional()
      .meta({ type: "positive integer", default: "`1048576` (1 MiB)" })
      .describe("largest request body; larger ones get HTTP 413"),
    allowedHosts: stringList({ expected: HOSTS_EXPECTED })
      .optional()
      .meta({
        type: "list of host names",
        default: "bound to loopback: `localhost`, `127.0.0.1`, `[::1]`; else no check",
      })
      .describe("`Host` header names accepted (DNS-rebinding protection; others get 403)"),
    allowedOrigins: stringList({ expected: HOSTS_EXPECTED })
      .optional()
      .meta({ type: "list of host names", default: "as `allowedHosts`" })
      .describe("browser `Origin` host names accepted"),
  },
  {
    nullIsEmpty: true,
    doc: {
      title: "`listen`",
      intro:
        "Sessions and the request timeout (`http.sessions`, `http.requestTimeoutMs`, 30 s) are not " +
        "settable from the file: the gateway serves stateless HTTP (see " +
        "[deployment](deployment.md#http-limits)).",
    },
  },
);

const store = nonEmpty(STORE_EXPECTED).superRefine((spec, ctx) => {
  const text = spec.trim();
  if (text === "memory" || /^sqlite:.+$/.test(text)) return;
  const kind = /^postgres(ql)?:\/\//.test(text)
    ? "postgres"
    : /^rediss?:\/\//.test(text)
      ? "redis"
      : undefined;
  if (kind === undefined) ctx.addIssue(STORE_EXPECTED);
  else if (!URL.canParse(text)) ctx.addIssue(`is not a valid ${kind}:// URL`);
});

const sink = nonEmpty(SINK_EXPECTED).refine(
  (spec) => /^(stdout|postgres(ql)?:\/\/.+|(file|sqlite):.+)$/.test(spec.trim()),
  SINK_EXPECTED,
);
const sinkList = z
  .array(sink, { error: SINK_EXPECTED })
  .min(1, "must list at least one sink (audit: false turns auditing off)");
const sinks = byKind({ string: sink, list: sinkList }, SINK_EXPECTED);

const AUDIT_EXPECTED =
  "must be a sink (stdout, file:<path>, ...), a list of sinks, false, or { sinks, failClosed, redactKeys, redactEmails }";
const auditMapping = section(
  {
    sinks: sinks
      .optional()
      .meta({
        type: "sink spec or list",
        default: "SQLite, `.toolgate/audit.sqlite` beside the file",
      })
      .describe(
        "`stdout`, `file:<path>` (JSON lines), `sqlite:<path>`, `postgres://...`; see [audit](audit.md)",
      ),
    failClosed: bool()
      .optional()
      .meta({ type: "boolean", default: "`false`" })
      .describe(
        "while a sink is failing or full, write tools are refused with `unavailable` (reads keep working)",
      ),
    redactKeys: stringList({ expected: "must be a list of argument names" })
      .optional()
      .meta({ type: "list of names", default: "none" })
      .describe("more argument names whose values are masked, on top of the built-in secret names"),
    redactEmails: bool()
      .optional()
      .meta({ type: "boolean", default: "`false`" })
      .describe("mask e-mail addresses in argument strings"),
  },
  {
    expected: AUDIT_EXPECTED,
    doc: {
      title: "`audit`",
      intro:
        "A sink spec (a string), a list of them, `false` (no audit log; metrics stay), `true` (the " +
        "default), or a mapping:",
    },
  },
);
const audit = byKind(
  { boolean: z.boolean(), string: sink, list: sinkList, mapping: auditMapping },
  AUDIT_EXPECTED,
);

const metrics = byKind(
  {
    boolean: z.boolean(),
    mapping: section(
      { path: httpPath().optional().meta({ type: "string starting `/`", default: "`/metrics`" }) },
      { nullIsEmpty: true, expected: "must be false, true, or { path: /metrics }" },
    ),
  },
  "must be false, true, or { path: /metrics }",
);

const PINNING_EXPECTED = "must be false, or { lockFile, refreshInterval }";
const pinning = byKind(
  {
    boolean: z.boolean(),
    mapping: section(
      {
        lockFile: nonEmpty("must be a file path")
          .optional()
          .meta({ type: "path", default: "`toolgate.lock.json` beside the file" })
          .describe("the lock pinning every published tool's contract (commit it)"),
        refreshInterval: duration()
          .optional()
          .meta({ type: "duration", default: "`60s`" })
          .describe("how often upstreams are asked for `tools/list` to catch changes"),
      },
      {
        nullIsEmpty: true,
        expected: PINNING_EXPECTED,
        doc: {
          title: "`pinning`",
          intro:
            "`false` turns contract pinning off (not recommended); `true` or an empty mapping is the default:",
        },
      },
    ),
  },
  PINNING_EXPECTED,
);

/** The whole file. `env` is where the variables named for secrets must be set. */
export function configSchema(env: NodeJS.ProcessEnv) {
  return section(
    {
      name: nonEmpty()
        .optional()
        .meta({ type: "string", default: "`toolgate-gateway`" })
        .describe("the server name clients see in `initialize`"),
      version: nonEmpty('must be a string (quote a number: version: "1.0")')
        .optional()
        .meta({ type: "string", default: "`1.0.0`" })
        .describe('the server version in `initialize` (quote numbers: `"1.0"`)'),
      listen: listen
        .optional()
        .meta({ type: "mapping", default: "`127.0.0.1:3000`, path `/mcp`" })
        .describe("where HTTP is served ([listen](#listen))"),
      auth: authSchema(env).meta({ type: "mapping" }).describe("who may call ([auth](#auth))"),
      store: store
        .optional()
        .meta({ type: "string", default: "SQLite, `.toolgate/idempotency.sqlite` beside the file" })
        .describe(
          "idempotency records and rate-limit budgets: `memory`, `sqlite:<path>`, `postgres://...` / " +
            "`postgresql://...`, `redis://...` / `rediss://...`",
        ),
      audit: audit
        .optional()
        .meta({
          type: "string, list, boolean or mapping",
          default: "SQLite, `.toolgate/audit.sqlite` beside the file",
        })
        .describe("the audit log ([audit](#audit))"),
      metrics: metrics
        .optional()
        .meta({ type: "`false`, `true` or `{ path }`", default: "served at `/metrics`" })
        .describe("Prometheus metrics on the HTTP listener; `false` serves none"),
      rateLimit: rateLimit()
        .optional()
        .meta({ type: "`{ perPrincipal?, perTool? }` (rates)", default: "no budgets" })
        .describe(
          "budgets for every call: each caller's across all tools, each tool's across all callers; " +
            "tool policies add their own",
        ),
      defaultTimeout: duration()
        .optional()
        .meta({ type: "duration", default: "`30s`" })
        .describe("the deadline of tools whose upstream and policy set none"),
      maxResultBytes: resultBytes()
        .optional()
        .meta({ type: `integer ≥ ${RESULT_BYTES}`, default: "`4194304` (4 MiB)" })
        .describe(
          "bound on one upstream answer, unless the upstream sets its own (larger answers fail with " +
            '`invalid_input`, `details.reason: "result_too_large"`)',
        ),
      pinning: pinning
        .optional()
        .meta({ type: "`false`, `true` or mapping", default: "on" })
        .describe("contract pinning ([pinning](#pinning))"),
      upstreams: upstreamsSchema(env)
        .meta({ type: "mapping of name to upstream", default: "**required**, at least one" })
        .describe("the MCP servers behind the gateway ([upstreams](#upstreams))"),
    },
    {
      expected: (v) =>
        `the file must be a YAML mapping (key: value lines) with at least auth and upstreams, not ${kindOf(v)}`,
      doc: { title: "Top level" },
    },
  ).superRefine(anonymousOnlyOnLoopback, ALWAYS);
}

/** `auth.none` lets anyone who reaches the gateway call every tool: loopback hosts only. */
function anonymousOnlyOnLoopback(file: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(file) || !isPlainObject(file.auth) || file.auth.none !== true) return;
  const host = isPlainObject(file.listen) ? file.listen.host : undefined;
  const listenHost = typeof host === "string" && host.trim() !== "" ? host : DEFAULT_HOST;
  if (LOOPBACK_HOST.test(listenHost)) return;
  ctx.addIssue({
    code: "custom",
    path: ["auth", "none"],
    message:
      `anonymous access is only allowed when listen.host is a loopback address (127.0.0.1, ::1 or localhost), ` +
      `and it is ${listenHost}: anyone who can reach the gateway could call every tool. ` +
      "Configure jwt, introspection or dev, or listen on 127.0.0.1",
  });
}

/** What the file may hold (before interpolation, every string may also be a `${VAR}`). */
export type GatewayConfigFile = z.input<ReturnType<typeof configSchema>>;
/** A checked file: durations in ms, lists as lists, integers and booleans as such. */
export type CheckedConfig = z.output<ReturnType<typeof configSchema>>;
