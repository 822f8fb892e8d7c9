// `upstreams:` of the config file: each upstream MCP server (stdio or url), its
// credential, and its tool policies. The format is documented in schema.ts.
import path from "node:path";
import { MIN_RESULT_BYTES } from "../check-options.js";
import type { StdioUpstream, ToolPolicy } from "../options.js";
import type { Checker, Mapping } from "./checker.js";
import { compact, type CheckContext, type CredentialSpec, type UpstreamSpec } from "./spec.js";
import type { Path } from "./yaml-source.js";

/** An upstream's key and prefix: tools are published as `<prefix>.<tool>`, so no dots. */
const UPSTREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const NAME_EXPECTED =
  "must be 1-32 letters, digits, '_' or '-' (no dots: tools are published as <prefix>.<tool>)";
// RFC 6749 §3.3 scope-token.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** `maxResultBytes`, here and at the top of the file. */
export const RESULT_BYTES = { min: MIN_RESULT_BYTES, max: Number.MAX_SAFE_INTEGER };
export const RESULT_BYTES_EXPECTED = `must be an integer number of bytes, at least ${MIN_RESULT_BYTES} (default 4194304, 4 MiB)`;
/** A variable name the child's environment can hold. */
const CHILD_ENV_NAME = /^[^=\0]+$/;

const UPSTREAM_KEYS = [
  "stdio",
  "url",
  "credential",
  "discoveryCredential",
  "prefix",
  "timeout",
  "connectTimeout",
  "restart",
  "maxResultBytes",
  "redactErrors",
  "honoursIdempotencyKey",
  "defaults",
  "tools",
];
const STDIO_KEYS = ["command", "args", "env", "cwd"];
const CREDENTIAL_KINDS = ["static", "clientCredentials", "tokenExchange"] as const;
const STATIC_KEYS = ["env", "header", "scheme"];
/** staticCredential's header when none is given. */
const DEFAULT_STATIC_HEADER = "authorization";
/** `scheme: none`: the variable holds the whole header value. */
const SCHEME_NONE = "none";
const CLIENT_CREDENTIALS_KEYS = [
  "tokenUrl",
  "clientId",
  "clientSecretEnv",
  "scope",
  "audience",
  "authMethod",
];
const TOKEN_EXCHANGE_KEYS = [...CLIENT_CREDENTIALS_KEYS, "resource"];
const RESTART_KEYS = ["initialDelay", "maxDelay"];
const POLICY_KEYS = [
  "scopes",
  "sideEffect",
  "timeout",
  "rateLimit",
  "hidden",
  "redact",
  "description",
];

export function checkUpstreams(
  c: Checker,
  value: unknown,
  ctx: CheckContext,
): Record<string, UpstreamSpec> | undefined {
  const m = c.mapping(value, ["upstreams"], "any", {
    required:
      "is required: list at least one upstream MCP server (a key with stdio: or url: under it)",
    expected: "must be a mapping of upstream names to servers (stdio: or url:)",
  });
  if (m === undefined) return undefined;
  if (Object.keys(m).length === 0) {
    return c.report(["upstreams"], "must list at least one upstream MCP server");
  }
  const upstreams: [string, UpstreamSpec][] = [];
  const prefixes = new Map<string, string>();
  let ok = true;
  for (const [key, item] of Object.entries(m)) {
    const at: Path = ["upstreams", key];
    if (!UPSTREAM_NAME.test(key)) {
      c.report(at, `is not a valid upstream name: it ${NAME_EXPECTED}`, "key");
      ok = false;
    }
    const upstream = checkUpstream(c, item, at, ctx);
    if (upstream === undefined) {
      ok = false;
      continue;
    }
    const prefix = upstream.prefix ?? key;
    const other = prefixes.get(prefix);
    if (other !== undefined) {
      const message = `has the prefix '${prefix}' of upstreams.${other} too: their tool names would collide`;
      if (upstream.prefix === undefined) c.report(at, `${message}; give one a prefix`, "key");
      else c.report([...at, "prefix"], message);
      ok = false;
    } else {
      prefixes.set(prefix, key);
    }
    upstreams.push([key, upstream]);
  }
  return ok ? Object.fromEntries(upstreams) : undefined;
}

function checkUpstream(
  c: Checker,
  value: unknown,
  at: Path,
  ctx: CheckContext,
): UpstreamSpec | undefined {
  const m = c.mapping(value, at, UPSTREAM_KEYS, {
    expected: "must be a mapping with stdio: (a command to start) or url: (an MCP endpoint)",
  });
  if (m === undefined) return undefined;
  const field = (key: string): Path => [...at, key];
  let ok = true;
  const transport = c.exactlyOne(m, at, ["stdio", "url"], "use exactly one of stdio and url");
  if (transport === undefined) ok = false;

  let stdio: StdioUpstream | undefined;
  let url: string | undefined;
  let credential: CredentialSpec | undefined;
  let discoveryCredential: CredentialSpec | undefined;
  if (m.stdio !== undefined) {
    stdio = checkStdio(c, m.stdio, field("stdio"), ctx);
    if (stdio === undefined) ok = false;
  }
  if (m.url !== undefined) {
    url = c.url(m.url, field("url"));
    if (url === undefined) ok = false;
  }
  for (const key of ["credential", "discoveryCredential"] as const) {
    if (m[key] === undefined) continue;
    if (m.stdio !== undefined) {
      c.report(
        field(key),
        "applies to url upstreams only; give a stdio server its secrets in stdio.env",
        "key",
      );
      ok = false;
      continue;
    }
    const spec = checkCredential(c, m[key], field(key), ctx);
    if (spec === undefined) ok = false;
    if (key === "credential") credential = spec;
    else discoveryCredential = spec;
  }

  const prefix = c.string(m.prefix, field("prefix"), { expected: NAME_EXPECTED });
  if (prefix !== undefined && !UPSTREAM_NAME.test(prefix)) {
    c.report(field("prefix"), NAME_EXPECTED);
    ok = false;
  }
  const timeoutMs = c.duration(m.timeout, field("timeout"));
  const connectTimeoutMs = c.duration(m.connectTimeout, field("connectTimeout"));
  const restart = checkRestart(c, m.restart, field("restart"));
  const maxResultBytes = c.integer(m.maxResultBytes, field("maxResultBytes"), RESULT_BYTES, {
    expected: RESULT_BYTES_EXPECTED,
  });
  const redactErrors = c.boolean(m.redactErrors, field("redactErrors"));
  const honoursIdempotencyKey = c.boolean(m.honoursIdempotencyKey, field("honoursIdempotencyKey"));
  const defaults =
    m.defaults === undefined ? undefined : checkPolicy(c, m.defaults, field("defaults"));
  const tools = checkTools(c, m.tools, field("tools"));
  if (!ok) return undefined;
  return compact({
    stdio,
    url,
    credential,
    discoveryCredential,
    prefix: prefix !== undefined && UPSTREAM_NAME.test(prefix) ? prefix : undefined,
    timeoutMs,
    connectTimeoutMs,
    restart,
    maxResultBytes,
    redactErrors,
    honoursIdempotencyKey,
    defaults,
    tools,
  });
}

function checkStdio(
  c: Checker,
  value: unknown,
  at: Path,
  ctx: CheckContext,
): StdioUpstream | undefined {
  const m = c.mapping(value, at, STDIO_KEYS, {
    expected: "must be a mapping: { command, args, env, cwd }",
  });
  if (m === undefined) return undefined;
  const command = c.string(m.command, [...at, "command"], {
    required: "is required: the program that starts the MCP server, such as npx or node",
    expected: "must be a non-empty string: the program that starts the MCP server",
  });
  const args = c.stringList(m.args, [...at, "args"], {
    scalars: true,
    expected: "must be a list of arguments (strings)",
  });
  const env = checkChildEnv(c, m.env, [...at, "env"]);
  const cwd = c.string(m.cwd, [...at, "cwd"], { expected: "must be a directory path" });
  if (command === undefined) return undefined;
  if (m.args !== undefined && args === undefined) return undefined;
  if (m.env !== undefined && env === undefined) return undefined;
  if (m.cwd !== undefined && cwd === undefined) return undefined;
  // Relative args (a directory to serve, a script) mean what they mean beside the file.
  return compact({ command, args, env, cwd: path.resolve(ctx.baseDir, cwd ?? ".") });
}

function checkChildEnv(c: Checker, value: unknown, at: Path): Record<string, string> | undefined {
  const m = c.mapping(value, at, "any", {
    expected: "must be a mapping of environment variable names to values",
  });
  if (m === undefined) return undefined;
  let ok = true;
  const entries: [string, string][] = [];
  for (const [name, item] of Object.entries(m)) {
    if (!CHILD_ENV_NAME.test(name)) {
      c.report([...at, name], "is not an environment variable name", "key");
      ok = false;
      continue;
    }
    const text = c.scalarString(item, [...at, name], {
      expected: "must be a string (quote it)",
      required: true,
    });
    if (text === undefined) ok = false;
    else entries.push([name, text]);
  }
  return ok ? Object.fromEntries(entries) : undefined;
}

function checkCredential(
  c: Checker,
  value: unknown,
  at: Path,
  ctx: CheckContext,
): CredentialSpec | undefined {
  const m = c.mapping(value, at, CREDENTIAL_KINDS, {
    expected: "must be a mapping with one of static, clientCredentials or tokenExchange",
  });
  if (m === undefined) return undefined;
  const kind = c.exactlyOne(
    m,
    at,
    CREDENTIAL_KINDS,
    "use exactly one of static, clientCredentials and tokenExchange",
  );
  if (kind === undefined) return undefined;
  const where = [...at, kind];
  if (kind === "static") {
    const options = checkStatic(c, m.static, where, ctx);
    return options && { kind, path: where, options };
  }
  const keys = kind === "clientCredentials" ? CLIENT_CREDENTIALS_KEYS : TOKEN_EXCHANGE_KEYS;
  const s = c.mapping(m[kind], where, keys, {
    expected: `must be a mapping: { ${keys.join(", ")} }`,
  });
  if (s === undefined) return undefined;
  const common = checkOAuthClient(c, s, where, ctx);
  const audience = c.string(s.audience, [...where, "audience"], {
    ...(kind === "tokenExchange"
      ? { required: "is required: the backend the exchanged token is for (RFC 8693 audience)" }
      : {}),
  });
  if (kind === "clientCredentials") {
    return common && { kind, path: where, options: compact({ ...common, audience }) };
  }
  const resource = c.url(s.resource, [...where, "resource"], {
    expected: "must be an absolute URL: the backend's URI (RFC 8707 resource)",
  });
  if (common === undefined || audience === undefined) return undefined;
  if (s.resource !== undefined && resource === undefined) return undefined;
  return { kind, path: where, options: compact({ ...common, audience, resource }) };
}

function checkStatic(c: Checker, value: unknown, at: Path, ctx: CheckContext) {
  const m = c.mapping(value, at, STATIC_KEYS, {
    expected: "must be a mapping: { env, header, scheme }",
  });
  if (m === undefined) return undefined;
  const secret = c.envVariable(m.env, [...at, "env"], ctx.env, {
    required: "is required: the name of the environment variable holding the secret",
  });
  const header = c.string(m.header, [...at, "header"], { expected: "must be an HTTP header name" });
  const scheme = c.string(m.scheme, [...at, "scheme"], {
    expected: "must be one word, such as Bearer, or none",
  });
  if (secret === undefined) return undefined;
  // `authorization: <secret>` or `authorization: Bearer <secret>`? Both exist, and a wrong
  // guess is a 401 at the upstream long after startup, so the file must say which.
  const authorization = (header ?? DEFAULT_STATIC_HEADER).toLowerCase() === DEFAULT_STATIC_HEADER;
  if (authorization && m.scheme === undefined) {
    return c.report(
      [...at, "scheme"],
      `is required with the authorization header: write scheme: Bearer to send "authorization: Bearer <the value of ${secret.name}>", ` +
        `or scheme: none when ${secret.name} holds the whole header value (such as "Basic dXNlcjpwYXNz")`,
    );
  }
  const none = scheme?.toLowerCase() === SCHEME_NONE;
  return compact({ valueFromEnv: secret.name, header, scheme: none ? undefined : scheme });
}

/** What clientCredentials and tokenExchange share. */
function checkOAuthClient(c: Checker, m: Mapping, at: Path, ctx: CheckContext) {
  const tokenUrl = c.url(m.tokenUrl, [...at, "tokenUrl"], {
    required: "is required: the authorization server's token endpoint",
    secure: true,
  });
  const clientId = c.string(m.clientId, [...at, "clientId"], { required: true });
  const secret = c.envVariable(m.clientSecretEnv, [...at, "clientSecretEnv"], ctx.env, {
    required:
      "is required: the name of the environment variable holding the client secret (secrets never go in the file)",
  });
  const scope = checkScopes(c, m.scope, [...at, "scope"]);
  const authMethod = c.choice(
    m.authMethod,
    [...at, "authMethod"],
    ["client_secret_basic", "client_secret_post"],
  );
  if (tokenUrl === undefined || clientId === undefined || secret === undefined) return undefined;
  if (m.scope !== undefined && scope === undefined) return undefined;
  if (m.authMethod !== undefined && authMethod === undefined) return undefined;
  return compact({ tokenUrl, clientId, clientSecretFromEnv: secret.name, scope, authMethod });
}

function checkScopes(c: Checker, value: unknown, at: Path): string[] | undefined {
  return c.stringList(value, at, {
    splitSpaces: true,
    item: (scope) => SCOPE.test(scope),
    expected:
      "must be a list of scope names (or one space-separated string); a scope has no spaces, quotes or backslashes",
  });
}

function checkRestart(c: Checker, value: unknown, at: Path) {
  const m = c.mapping(value, at, RESTART_KEYS, {
    nullIsEmpty: true,
    expected: "must be a mapping: { initialDelay: 500ms, maxDelay: 30s }",
  });
  if (m === undefined) return undefined;
  const initialDelayMs = c.duration(m.initialDelay, [...at, "initialDelay"]);
  const maxDelayMs = c.duration(m.maxDelay, [...at, "maxDelay"]);
  if (initialDelayMs !== undefined && maxDelayMs !== undefined && initialDelayMs > maxDelayMs) {
    c.report([...at, "maxDelay"], "must not be shorter than initialDelay");
  }
  return compact({ initialDelayMs, maxDelayMs });
}

function checkTools(c: Checker, value: unknown, at: Path): Record<string, ToolPolicy> | undefined {
  const m = c.mapping(value, at, "any", {
    nullIsEmpty: true,
    expected: "must be a mapping of the upstream's tool names to policies",
  });
  if (m === undefined) return undefined;
  const entries: [string, ToolPolicy][] = [];
  for (const [name, item] of Object.entries(m)) {
    const policy = checkPolicy(c, item, [...at, name]);
    if (policy !== undefined) entries.push([name, policy]);
  }
  return Object.fromEntries(entries);
}

function checkPolicy(c: Checker, value: unknown, at: Path): ToolPolicy | undefined {
  const m = c.mapping(value, at, POLICY_KEYS, {
    nullIsEmpty: true,
    expected: `must be a tool policy: a mapping of ${POLICY_KEYS.join(", ")}`,
  });
  if (m === undefined) return undefined;
  const field = (key: string): Path => [...at, key];
  return compact({
    scopes: checkScopes(c, m.scopes, field("scopes")),
    sideEffect: c.choice(m.sideEffect, field("sideEffect"), ["read", "write"]),
    timeoutMs: c.duration(m.timeout, field("timeout")),
    rateLimit: c.rateLimit(m.rateLimit, field("rateLimit")),
    hidden: c.boolean(m.hidden, field("hidden")),
    redact: c.stringList(m.redact, field("redact"), {
      item: (key) => key !== "",
      expected: "must be a list of argument names",
    }),
    description: c.string(m.description, field("description")),
  });
}
