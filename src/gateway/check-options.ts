// `createGateway`'s options checked once, at startup, with a TypeError that names the
// field. The YAML loader reports the same mistakes with line numbers; this covers code
// that builds options by hand.
//
// The rules both share live here (the names, scopes and bounds below); the structure does
// not: the file spells durations as `10s` and credentials as mappings, the options as
// `...Ms` numbers and provider objects, and the file's YAML forms (`"true"`, a scope
// string) are not options a typed caller may pass. So the file has its zod schema
// (config/schema.ts) and this is the check of the typed form.
import { MAX_DURATION_MS } from "../util/duration.js";
import { isRecord } from "../util/is-record.js";
import type { GatewayOptions, ToolPolicy, UpstreamOptions } from "./options.js";

/** An upstream's key and prefix: tools are published as `<prefix>.<tool>`, so no dots. */
export const UPSTREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;
/** An OAuth scope (RFC 6749 §3.3 scope-token). */
export const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const UPSTREAM_KEY = UPSTREAM_NAME;
const MAX_MS = MAX_DURATION_MS;
const UPSTREAM_FIELDS = new Set([
  "stdio",
  "url",
  "credential",
  "discoveryCredential",
  "prefix",
  "timeoutMs",
  "connectTimeoutMs",
  "restart",
  "maxResultBytes",
  "redactErrors",
  "honoursIdempotencyKey",
  "defaults",
  "tools",
]);
const POLICY_FIELDS = new Set([
  "scopes",
  "sideEffect",
  "timeoutMs",
  "rateLimit",
  "hidden",
  "redact",
  "description",
]);

function fail(where: string, message: string): never {
  throw new TypeError(`createGateway: ${where} ${message}`);
}

/** The smallest `maxResultBytes`: below it even a short error answer would not fit. */
export const MIN_RESULT_BYTES = 1024;

function checkBytes(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || (value as number) < MIN_RESULT_BYTES)
    fail(where, `must be an integer number of bytes, at least ${MIN_RESULT_BYTES}.`);
}

function checkMs(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || (value as number) <= 0 || (value as number) > MAX_MS)
    fail(where, "must be a positive integer number of milliseconds.");
}

export function checkGatewayOptions(options: GatewayOptions): void {
  if (!isRecord(options)) throw new TypeError("createGateway expects an options object.");
  if (!isRecord(options.upstreams) || Object.keys(options.upstreams).length === 0)
    fail("upstreams", "must name at least one upstream MCP server.");
  checkMs(options.defaultTimeoutMs, "defaultTimeoutMs");
  checkBytes(options.maxResultBytes, "maxResultBytes");
  if (
    options.dataDir !== undefined &&
    (typeof options.dataDir !== "string" || options.dataDir.trim() === "")
  )
    fail("dataDir", "must be a directory path.");
  if (options.pinning !== undefined && options.pinning !== false) {
    if (!isRecord(options.pinning)) fail("pinning", "must be an object or false.");
    const { lockFile, refreshIntervalMs } = options.pinning;
    if (lockFile !== undefined && (typeof lockFile !== "string" || lockFile === ""))
      fail("pinning.lockFile", "must be a file path.");
    checkMs(refreshIntervalMs, "pinning.refreshIntervalMs");
  }
  const prefixes = new Map<string, string>();
  for (const [key, upstream] of Object.entries(options.upstreams)) {
    const where = `upstreams.${key}`;
    if (!UPSTREAM_KEY.test(key))
      fail(where, "is not a valid upstream name (1-32 letters, digits, '_' or '-').");
    checkUpstream(upstream, where);
    const prefix = upstream.prefix ?? key;
    const other = prefixes.get(prefix);
    if (other !== undefined)
      fail(`${where}.prefix`, `'${prefix}' is also the prefix of upstreams.${other}.`);
    prefixes.set(prefix, key);
  }
}

function checkUpstream(value: unknown, where: string): void {
  if (!isRecord(value)) fail(where, "must be an object with stdio or url.");
  const upstream = value as UpstreamOptions;
  for (const field of Object.keys(upstream))
    if (!UPSTREAM_FIELDS.has(field)) fail(`${where}.${field}`, "is not an upstream option.");
  if ((upstream.stdio === undefined) === (upstream.url === undefined))
    fail(where, "needs exactly one of stdio and url.");
  if (upstream.stdio !== undefined) {
    const { command, args, env, cwd } = upstream.stdio as Partial<typeof upstream.stdio>;
    if (typeof command !== "string" || command === "")
      fail(`${where}.stdio.command`, "must be a command name or path.");
    if (args !== undefined && (!Array.isArray(args) || !args.every((a) => typeof a === "string")))
      fail(`${where}.stdio.args`, "must be an array of strings.");
    if (
      env !== undefined &&
      (!isRecord(env) || !Object.values(env).every((v) => typeof v === "string"))
    )
      fail(`${where}.stdio.env`, "must map variable names to strings.");
    if (cwd !== undefined && typeof cwd !== "string") fail(`${where}.stdio.cwd`, "must be a path.");
    if (upstream.credential !== undefined || upstream.discoveryCredential !== undefined)
      fail(
        `${where}.credential`,
        "applies to url upstreams only; give a stdio server its secrets in stdio.env.",
      );
  } else {
    let url: URL | undefined;
    try {
      url = new URL(String(upstream.url));
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:"))
      fail(`${where}.url`, "must be an http:// or https:// URL.");
    for (const field of ["credential", "discoveryCredential"] as const) {
      const credential: unknown = upstream[field];
      if (
        credential !== undefined &&
        typeof (credential as { headers?: unknown }).headers !== "function"
      )
        fail(
          `${where}.${field}`,
          "must be a credential provider (staticCredential, clientCredentials, tokenExchange).",
        );
    }
  }
  if (
    upstream.prefix !== undefined &&
    (typeof upstream.prefix !== "string" || !UPSTREAM_KEY.test(upstream.prefix))
  )
    fail(`${where}.prefix`, "must be 1-32 letters, digits, '_' or '-' (no dots).");
  checkMs(upstream.timeoutMs, `${where}.timeoutMs`);
  checkMs(upstream.connectTimeoutMs, `${where}.connectTimeoutMs`);
  if (upstream.restart !== undefined) {
    if (!isRecord(upstream.restart))
      fail(`${where}.restart`, "must be { initialDelayMs, maxDelayMs }.");
    checkMs(upstream.restart.initialDelayMs, `${where}.restart.initialDelayMs`);
    checkMs(upstream.restart.maxDelayMs, `${where}.restart.maxDelayMs`);
  }
  checkBytes(upstream.maxResultBytes, `${where}.maxResultBytes`);
  for (const flag of ["redactErrors", "honoursIdempotencyKey"] as const) {
    if (upstream[flag] !== undefined && typeof upstream[flag] !== "boolean")
      fail(`${where}.${flag}`, "must be true or false.");
  }
  if (upstream.defaults !== undefined) checkPolicy(upstream.defaults, `${where}.defaults`);
  if (upstream.tools !== undefined) {
    if (!isRecord(upstream.tools))
      fail(`${where}.tools`, "must map upstream tool names to policies.");
    for (const [name, policy] of Object.entries(upstream.tools))
      checkPolicy(policy, `${where}.tools.${name}`);
  }
}

function checkPolicy(value: unknown, where: string): void {
  if (!isRecord(value)) fail(where, "must be an object (scopes, sideEffect, timeoutMs, ...).");
  const policy = value as ToolPolicy;
  for (const field of Object.keys(policy))
    if (!POLICY_FIELDS.has(field)) fail(`${where}.${field}`, "is not a tool policy option.");
  const { scopes, sideEffect, hidden, redact, description } = policy;
  if (
    scopes !== undefined &&
    (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string" && SCOPE.test(s)))
  )
    fail(`${where}.scopes`, "must be an array of scope names without spaces.");
  if (sideEffect !== undefined && sideEffect !== "read" && sideEffect !== "write")
    fail(`${where}.sideEffect`, 'must be "read" or "write".');
  checkMs(policy.timeoutMs, `${where}.timeoutMs`);
  if (hidden !== undefined && typeof hidden !== "boolean")
    fail(`${where}.hidden`, "must be true or false.");
  if (
    redact !== undefined &&
    (!Array.isArray(redact) || !redact.every((k) => typeof k === "string" && k !== ""))
  )
    fail(`${where}.redact`, "must be an array of argument names.");
  if (description !== undefined && (typeof description !== "string" || description.trim() === ""))
    fail(`${where}.description`, "must be a non-empty string.");
}
