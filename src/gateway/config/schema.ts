// The gateway's config file, `toolgate.yaml`: its format, and the checks that turn the
// parsed YAML into a ConfigSpec (or issues, each at its line). Upstreams, credentials and
// tool policies are checked in schema-upstreams.ts.
//
// ```yaml
// name: my-gateway              # optional, default "toolgate-gateway"
// version: 1.0.0                # optional
// listen:                        # optional
//   host: 127.0.0.1              # default 127.0.0.1
//   port: 3000                   # default 3000; 0 = any free port
//   path: /mcp                   # -> options.http.path
//   maxBodyBytes: 1048576        # -> options.http
//   allowedHosts: [gw.example.com]
//   allowedOrigins: [...]
// auth:                          # REQUIRED: exactly one of jwt | introspection | dev | none
//   jwt:
//     issuer: https://auth.example.com/        # string or list
//     audience: https://gw.example.com/mcp
//     jwksUrl: https://auth.example.com/jwks.json   # or jwksFile: path to a JWKS JSON file (relative to the config file)
//     algorithms: [RS256, ES256]                # optional
//     typ: at+jwt                               # optional
//   introspection:
//     url: https://auth.example.com/introspect
//     clientId: gateway
//     clientSecretEnv: INTROSPECTION_SECRET     # name of an env var; missing var = config error naming the line
//     audience: https://gw.example.com/mcp
//     issuer: https://auth.example.com/         # optional
//   dev:                                         # the local dev issuer (mint tokens with `toolgate token`)
//     keyFile: .toolgate/dev-issuer.json         # optional; this is the default (beside this file)
//   none: true                                   # anonymous; only allowed when listen.host is loopback (127.x, ::1, localhost): else an error saying why
//   resource: https://gw.example.com/mcp         # optional (AuthConfig.resource)
//   stepUp: false                                # optional (AuthConfig.stepUp)
// store: sqlite:.toolgate/idempotency.sqlite     # or memory | postgres://... | postgresql://... | redis://... | rediss://...; default: SQLite in .toolgate/ beside this file (or $TOOLGATE_DATA_DIR)
// audit: [stdout, "file:audit.jsonl", "sqlite:.toolgate/audit.sqlite", "postgres://..."]   # a string, a list, false, or { sinks: [...], failClosed: true, redactKeys: [...], redactEmails: true }; default: SQLite in .toolgate/ beside this file (or $TOOLGATE_DATA_DIR)
// metrics: false                                 # or { path: /metrics }
// rateLimit: { perPrincipal: 60/min, perTool: 600/min }
// defaultTimeout: 30s                            # durations: 500ms, 10s, 2m, or an integer number of ms
// maxResultBytes: 4194304                        # bound on one upstream answer, bytes (default 4 MiB, at least 1024)
// pinning:                                       # or false
//   lockFile: toolgate.lock.json                 # default toolgate.lock.json next to the config file
//   refreshInterval: 60s
// upstreams:                                     # REQUIRED, at least one
//   everything:                                  # key: 1-32 of [A-Za-z0-9_-] (no dots: names are <prefix>.<tool>)
//     stdio:
//       command: npx
//       args: [-y, "@modelcontextprotocol/server-everything"]
//       env: { API_KEY: "${EVERYTHING_KEY}" }
//       cwd: ./work                              # default: this file's directory (relative args resolve there)
//     # or
//     url: http://127.0.0.1:4000/mcp             # http or https only
//     credential:                                # only with url; exactly one of:
//       static: { env: UPSTREAM_TOKEN, header: authorization, scheme: Bearer }   # header default authorization; with it, scheme is required: Bearer, or none (the variable holds the whole value)
//       clientCredentials: { tokenUrl, clientId, clientSecretEnv, scope: [a, b], audience, authMethod }
//       tokenExchange: { tokenUrl, clientId, clientSecretEnv, audience, scope, resource, authMethod }
//     discoveryCredential: { static: {...} }     # or clientCredentials; only with url
//     prefix: ev                                  # default: the key; same charset as the key
//     timeout: 10s
//     connectTimeout: 10s
//     restart: { initialDelay: 500ms, maxDelay: 30s }
//     maxResultBytes: 1048576                     # default: the top-level maxResultBytes
//     redactErrors: true                          # mask secrets in the upstream's error texts (default true)
//     honoursIdempotencyKey: true                 # it deduplicates by _meta["toolgate/idempotency-key"] (default: detected)
//     defaults: <policy>
//     tools:                                     # each key must be a tool the upstream lists (checked by --check and at startup)
//       <upstream tool name>: <policy>
// # <policy>:
// #   scopes: [files:read]          (list, or a space-separated string)
// #   sideEffect: read | write
// #   timeout: 5s
// #   rateLimit: { perPrincipal: 10/min }
// #   hidden: true
// #   redact: [password, token]
// #   description: "..."
// ```
//
// Rules:
// - `${VAR}` and `${VAR:-default}` are replaced in every string value from the
//   environment (`:-` also applies when VAR is empty); an unset VAR without a default is
//   an error at that line. `$${` is a literal `${`. Keys are never interpolated.
// - Relative paths (jwksFile, dev.keyFile, sqlite: and file: specs in store and audit,
//   stdio.cwd, pinning.lockFile) are relative to the config file's directory, and so are
//   the defaults: stdio servers run there (relative args resolve there too), and the
//   default store, audit log and dev issuer key go to `.toolgate/` beside the file
//   ($TOOLGATE_DATA_DIR, when set, moves the store and the audit log, as for the library).
// - Unknown keys are errors ("did you mean 'command'?"), at every level.
// - Secrets never go in the file: clientSecretEnv, static.env and the like name
//   environment variables, which must be set when the file is loaded.
// - Durations: 500ms, 10s, 2m, 1h (fractions allowed: 1.5s), or an integer number of ms.
// - Integers and booleans may come from `${VAR}` (port: ${PORT:-3000}); stdio args and
//   env values may be written as integers or booleans (PORT: 3000).
// - `metrics: true` and `pinning: true` mean the defaults; a section written as `key:`
//   with nothing under it (listen, dev, pinning, restart, a tool's policy) is empty.
// - Upstream tool names under `tools` are the upstream's names, without the prefix, and
//   must name tools it lists (src/gateway/tool-policies.ts). A tool without an entry gets
//   the upstream's `defaults`.
// - `toolgate token --key-file <dir>/.toolgate/dev-issuer.json` mints for a gateway whose
//   auth.dev has no keyFile.
import path from "node:path";
import { AUDIT_SINK_SPECS } from "../../audit/sink-spec.js";
import { DEFAULT_DEV_KEY_FILE } from "../../auth/dev-keys.js";
import { DEFAULT_LOCK_FILE } from "../../contract/lock-file.js";
import type { MetricsOptions } from "../../observability/metrics.js";
import type { HttpOptions } from "../../server/http-server.js";
import type { PinningOptions } from "../options.js";
import { kindOf, type Checker, type Mapping } from "./checker.js";
import { UNRESOLVED } from "./interpolate.js";
import { RESULT_BYTES, RESULT_BYTES_EXPECTED, checkUpstreams } from "./schema-upstreams.js";
import {
  compact,
  type AuditSpec,
  type AuthSpec,
  type CheckContext,
  type ConfigSpec,
  type ListenSpec,
  type StoreSpec,
} from "./spec.js";
import type { Path } from "./yaml-source.js";

export const DEFAULT_HOST = "127.0.0.1";
/** Beside the config file: the default store, audit log and dev issuer key. */
const DEFAULT_DATA_DIR = ".toolgate";
export const DEFAULT_PORT = 3000;

const TOP_KEYS = [
  "name",
  "version",
  "listen",
  "auth",
  "store",
  "audit",
  "metrics",
  "rateLimit",
  "defaultTimeout",
  "maxResultBytes",
  "pinning",
  "upstreams",
];
const LISTEN_KEYS = ["host", "port", "path", "maxBodyBytes", "allowedHosts", "allowedOrigins"];
const AUTH_KINDS = ["jwt", "introspection", "dev", "none"] as const;
const AUTH_KEYS = [...AUTH_KINDS, "resource", "stepUp"];
const JWT_KEYS = ["issuer", "audience", "jwksUrl", "jwksFile", "algorithms", "typ"];
const INTROSPECTION_KEYS = ["url", "clientId", "clientSecretEnv", "audience", "issuer"];
const AUDIT_KEYS = ["sinks", "failClosed", "redactKeys", "redactEmails"];
const PINNING_KEYS = ["lockFile", "refreshInterval"];

const PORT_RANGE = { min: 0, max: 65535 };
const POSITIVE = { min: 1, max: Number.MAX_SAFE_INTEGER };
/** Where anonymous access is allowed: only this machine can reach the gateway. */
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/i;
const STORE_EXPECTED =
  "must be memory, sqlite:<path>, postgres://..., postgresql://..., redis://... or rediss://...";
const SINK_EXPECTED = `must be an audit sink: ${AUDIT_SINK_SPECS}`;

/**
 * The whole file, checked in one pass that reports every issue it finds. Returns
 * undefined when the file is unusable; callers go by `c.issues`, which may also hold
 * issues when a spec is returned.
 */
export function checkConfig(value: unknown, c: Checker, ctx: CheckContext): ConfigSpec | undefined {
  if (value === null || value === undefined) {
    return c.report([], "the file is empty: a gateway config needs at least auth and upstreams");
  }
  const top = c.mapping(value, [], TOP_KEYS, {
    expected: `the file must be a YAML mapping (key: value lines) with at least auth and upstreams, not ${kindOf(value)}`,
  });
  if (top === undefined) return undefined;

  const name = c.string(top.name, ["name"]);
  const version = c.string(top.version, ["version"], {
    expected: 'must be a string (quote a number: version: "1.0")',
  });
  const { listen, http } = checkListen(c, top.listen);
  const auth = checkAuth(c, top.auth, listen, ctx);
  const store = top.store === undefined ? undefined : checkStore(c, top.store, ctx);
  const audit = top.audit === undefined ? undefined : checkAudit(c, top.audit, ctx);
  const metrics = top.metrics === undefined ? undefined : checkMetrics(c, top.metrics);
  const rateLimit = c.rateLimit(top.rateLimit, ["rateLimit"]);
  const defaultTimeoutMs = c.duration(top.defaultTimeout, ["defaultTimeout"]);
  const maxResultBytes = c.integer(top.maxResultBytes, ["maxResultBytes"], RESULT_BYTES, {
    expected: RESULT_BYTES_EXPECTED,
  });
  const pinning = checkPinning(c, top.pinning, ctx);
  const upstreams = checkUpstreams(c, top.upstreams, ctx);
  if (auth === undefined || upstreams === undefined) return undefined;
  // The defaults' files go beside the config too, unless the environment moves them.
  const configured = ctx.env["TOOLGATE_DATA_DIR"];
  const dataDir =
    configured === undefined || configured.trim() === ""
      ? path.join(ctx.baseDir, DEFAULT_DATA_DIR)
      : path.resolve(configured);
  return compact({
    dataDir,
    name,
    version,
    listen,
    http,
    auth,
    store,
    audit,
    metrics,
    rateLimit,
    defaultTimeoutMs,
    maxResultBytes,
    pinning,
    upstreams,
  });
}

function checkListen(c: Checker, value: unknown): { listen: ListenSpec; http?: HttpOptions } {
  const at = (key: string): Path => ["listen", key];
  const m = c.mapping(value, ["listen"], LISTEN_KEYS, { nullIsEmpty: true }) ?? {};
  const host = c.string(m.host, at("host"), { expected: "must be a host name or IP address" });
  const port = c.integer(m.port, at("port"), PORT_RANGE, {
    expected: "must be a port number from 0 to 65535 (0 = any free port)",
  });
  const httpPath = c.string(m.path, at("path"), { expected: "must be a path starting with /" });
  if (httpPath !== undefined && !httpPath.startsWith("/")) {
    c.report(at("path"), "must be a path starting with /");
  }
  const maxBodyBytes = c.integer(m.maxBodyBytes, at("maxBodyBytes"), POSITIVE, {
    expected: "must be a positive integer number of bytes",
  });
  const hostList = { expected: "must be a list of host names" };
  const allowedHosts = c.stringList(m.allowedHosts, at("allowedHosts"), hostList);
  const allowedOrigins = c.stringList(m.allowedOrigins, at("allowedOrigins"), hostList);
  const http = compact({
    path: httpPath?.startsWith("/") === true ? httpPath : undefined,
    maxBodyBytes,
    allowedHosts,
    allowedOrigins,
  });
  return {
    listen: { host: host ?? DEFAULT_HOST, port: port ?? DEFAULT_PORT },
    ...(Object.keys(http).length === 0 ? {} : { http }),
  };
}

function checkAuth(
  c: Checker,
  value: unknown,
  listen: ListenSpec,
  ctx: CheckContext,
): AuthSpec | undefined {
  const m = c.mapping(value, ["auth"], AUTH_KEYS, {
    required:
      "is required: configure exactly one of jwt, introspection, dev, or none: true (anonymous, loopback only)",
  });
  if (m === undefined) return undefined;
  const kind = c.exactlyOne(
    m,
    ["auth"],
    AUTH_KINDS,
    "use exactly one of jwt, introspection, dev and none",
  );
  const resource = c.url(m.resource, ["auth", "resource"], {
    expected: "must be an absolute http:// or https:// URL (this gateway's resource identifier)",
  });
  const stepUp = c.boolean(m.stepUp, ["auth", "stepUp"]);
  // Each method given is checked, so that a file with two gets every issue at once.
  const jwt = m.jwt === undefined ? undefined : checkJwt(c, m.jwt, ctx);
  const introspection =
    m.introspection === undefined ? undefined : checkIntrospection(c, m.introspection, ctx);
  const dev = m.dev === undefined ? undefined : checkDev(c, m.dev, ctx);
  const none = m.none === undefined ? undefined : checkNone(c, m.none, listen);
  const extras = { resource, stepUp };

  if (kind === "none") {
    for (const key of ["resource", "stepUp"] as const) {
      if (m[key] !== undefined) {
        c.report(
          ["auth", key],
          "does not apply to auth.none (anonymous calls carry no token)",
          "key",
        );
      }
    }
    return none === true ? { kind: "none" } : undefined;
  }
  if (kind === "jwt" && jwt !== undefined) {
    return compact({ kind, path: ["auth", "jwt"], ...jwt, ...extras });
  }
  if (kind === "introspection" && introspection !== undefined) {
    return compact({ kind, path: ["auth", "introspection"], options: introspection, ...extras });
  }
  if (kind === "dev" && dev !== undefined) {
    return compact({ kind, path: ["auth", "dev"], keyFile: dev.keyFile, ...extras });
  }
  return undefined;
}

function checkJwt(
  c: Checker,
  value: unknown,
  ctx: CheckContext,
): Pick<Extract<AuthSpec, { kind: "jwt" }>, "options" | "jwksFile"> | undefined {
  const base: Path = ["auth", "jwt"];
  const at = (key: string): Path => [...base, key];
  const m = c.mapping(value, base, JWT_KEYS, { required: true });
  if (m === undefined) return undefined;
  const issuer = c.stringList(m.issuer, at("issuer"), {
    required: "is required: the token issuer (iss), a URL or a list of them",
    allowSingle: true,
    nonEmpty: true,
    expected: "must be the token issuer (iss), a string or a list of them",
  });
  const audience = c.string(m.audience, at("audience"), {
    required: "is required: the audience (aud) tokens for this gateway carry, usually its URL",
  });
  const source = c.exactlyOne(
    m,
    base,
    ["jwksUrl", "jwksFile"],
    "needs exactly one of jwksUrl and jwksFile",
  );
  const jwksUrl = c.url(m.jwksUrl, at("jwksUrl"), { secure: true });
  const jwksPath = c.string(m.jwksFile, at("jwksFile"), { expected: "must be a file path" });
  const algorithms = c.stringList(m.algorithms, at("algorithms"), {
    nonEmpty: true,
    expected: "must be a list of signature algorithms, such as [RS256, ES256]",
  });
  const typ = c.string(m.typ, at("typ"), { expected: "must be a token type, such as at+jwt" });
  if (issuer === undefined || audience === undefined || source === undefined) return undefined;
  if (source === "jwksUrl" && jwksUrl === undefined) return undefined;
  if (source === "jwksFile" && jwksPath === undefined) return undefined;
  return compact({
    options: compact({ issuer, audience, jwksUrl, algorithms, typ }),
    jwksFile:
      jwksPath === undefined
        ? undefined
        : { file: path.resolve(ctx.baseDir, jwksPath), path: at("jwksFile") },
  });
}

function checkIntrospection(c: Checker, value: unknown, ctx: CheckContext) {
  const base: Path = ["auth", "introspection"];
  const at = (key: string): Path => [...base, key];
  const m = c.mapping(value, base, INTROSPECTION_KEYS, { required: true });
  if (m === undefined) return undefined;
  const url = c.url(m.url, at("url"), {
    required: "is required: the authorization server's introspection endpoint",
    secure: true,
  });
  const clientId = c.string(m.clientId, at("clientId"), { required: true });
  const secret = c.envVariable(m.clientSecretEnv, at("clientSecretEnv"), ctx.env, {
    required:
      "is required: the name of the environment variable holding the client secret (secrets never go in the file)",
  });
  const audience = c.string(m.audience, at("audience"), {
    required: "is required: the audience (aud) tokens for this gateway carry, usually its URL",
  });
  const issuer = c.string(m.issuer, at("issuer"));
  if (url === undefined || clientId === undefined || secret === undefined) return undefined;
  if (audience === undefined) return undefined;
  return compact({ url, clientId, clientSecret: secret.value, audience, issuer });
}

function checkDev(c: Checker, value: unknown, ctx: CheckContext) {
  if (value === true) return {};
  const m = c.mapping(value, ["auth", "dev"], ["keyFile"], {
    nullIsEmpty: true,
    expected: "must be a mapping ({ keyFile: ... }), empty, or true",
  });
  if (m === undefined) return undefined;
  const keyFile = c.string(m.keyFile, ["auth", "dev", "keyFile"], {
    expected: "must be a file path",
  });
  if (m.keyFile !== undefined && keyFile === undefined) return undefined;
  return { keyFile: path.resolve(ctx.baseDir, keyFile ?? DEFAULT_DEV_KEY_FILE) };
}

function checkNone(c: Checker, value: unknown, listen: ListenSpec): boolean {
  if (value !== true && value !== UNRESOLVED) {
    c.report(
      ["auth", "none"],
      "must be true (anonymous access); to require tokens, configure jwt, introspection or dev instead",
    );
    return false;
  }
  if (value === true && !LOOPBACK_HOST.test(listen.host)) {
    c.report(
      ["auth", "none"],
      `anonymous access is only allowed when listen.host is a loopback address (127.0.0.1, ::1 or localhost), ` +
        `and it is ${listen.host}: anyone who can reach the gateway could call every tool. ` +
        "Configure jwt, introspection or dev, or listen on 127.0.0.1",
    );
    return false;
  }
  return value === true;
}

function checkStore(c: Checker, value: unknown, ctx: CheckContext): StoreSpec | undefined {
  const at: Path = ["store"];
  const text = c.string(value, at, { expected: STORE_EXPECTED })?.trim();
  if (text === undefined) return undefined;
  if (text === "memory") return { kind: "memory", path: at };
  const sqlite = /^sqlite:(.+)$/.exec(text);
  if (sqlite) return { kind: "sqlite", file: path.resolve(ctx.baseDir, sqlite[1]!), path: at };
  if (/^postgres(ql)?:\/\//.test(text)) {
    return URL.canParse(text)
      ? { kind: "postgres", url: text, path: at }
      : c.report(at, "is not a valid postgres:// URL");
  }
  if (/^rediss?:\/\//.test(text)) {
    return URL.canParse(text)
      ? { kind: "redis", url: text, path: at }
      : c.report(at, "is not a valid redis:// URL");
  }
  return c.report(at, STORE_EXPECTED);
}

function checkAudit(c: Checker, value: unknown, ctx: CheckContext): AuditSpec | false | undefined {
  const at: Path = ["audit"];
  if (value === false) return false;
  if (value === true) return {};
  if (typeof value === "string" || Array.isArray(value)) {
    const sinks = checkSinks(c, value, at, ctx);
    return sinks === undefined ? undefined : { sinks };
  }
  const m = c.mapping(value, at, AUDIT_KEYS, {
    expected:
      "must be a sink (stdout, file:<path>, ...), a list of sinks, false, or { sinks, failClosed, redactKeys, redactEmails }",
  });
  if (m === undefined) return undefined;
  const sinks = m.sinks === undefined ? undefined : checkSinks(c, m.sinks, [...at, "sinks"], ctx);
  const failClosed = c.boolean(m.failClosed, [...at, "failClosed"]);
  const redactKeys = c.stringList(m.redactKeys, [...at, "redactKeys"], {
    expected: "must be a list of argument names",
  });
  const redactEmails = c.boolean(m.redactEmails, [...at, "redactEmails"]);
  return compact({ sinks, failClosed, redactKeys, redactEmails });
}

function checkSinks(c: Checker, value: unknown, at: Path, ctx: CheckContext) {
  if (value === UNRESOLVED) return undefined;
  if (Array.isArray(value) && value.length === 0) {
    return c.report(at, "must list at least one sink (audit: false turns auditing off)");
  }
  const items = Array.isArray(value) ? value : [value];
  const sinks = items.map((item: unknown, i) => {
    const where = Array.isArray(value) ? [...at, i] : at;
    const text = c.string(item, where, { expected: SINK_EXPECTED })?.trim();
    if (text === undefined) return undefined;
    if (text === "stdout" || /^postgres(ql)?:\/\/./.test(text)) return { spec: text, path: where };
    const match = /^(file|sqlite):(.+)$/.exec(text);
    if (match) {
      return { spec: `${match[1]}:${path.resolve(ctx.baseDir, match[2]!)}`, path: where };
    }
    return c.report(where, SINK_EXPECTED);
  });
  return sinks.every((s) => s !== undefined) ? sinks : undefined;
}

function checkMetrics(c: Checker, value: unknown): MetricsOptions | false | undefined {
  if (value === false) return false;
  if (value === true) return {};
  const m = c.mapping(value, ["metrics"], ["path"], {
    nullIsEmpty: true,
    expected: "must be false, true, or { path: /metrics }",
  });
  if (m === undefined) return undefined;
  const metricsPath = c.string(m.path, ["metrics", "path"], {
    expected: "must be a path starting with /",
  });
  if (metricsPath === undefined) return {};
  if (!metricsPath.startsWith("/"))
    return c.report(["metrics", "path"], "must be a path starting with /");
  return { path: metricsPath };
}

function checkPinning(c: Checker, value: unknown, ctx: CheckContext): PinningOptions | false {
  const defaultLockFile = path.resolve(ctx.baseDir, DEFAULT_LOCK_FILE);
  if (value === false) return false;
  if (value === true) return { lockFile: defaultLockFile };
  const m: Mapping =
    c.mapping(value, ["pinning"], PINNING_KEYS, {
      nullIsEmpty: true,
      expected: "must be false, or { lockFile, refreshInterval }",
    }) ?? {};
  const lockFile = c.string(m.lockFile, ["pinning", "lockFile"], {
    expected: "must be a file path",
  });
  const refreshIntervalMs = c.duration(m.refreshInterval, ["pinning", "refreshInterval"]);
  return compact({
    lockFile: lockFile === undefined ? defaultLockFile : path.resolve(ctx.baseDir, lockFile),
    refreshIntervalMs,
  });
}
