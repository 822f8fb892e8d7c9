// A checked file (schema.ts) -> ConfigSpec: defaults filled, relative paths made absolute
// against the file's directory, secrets that the verifiers take as values read from the
// environment, and each credential and auth method as its kind. Nothing here can fail:
// the schema has checked all of it.
import path from "node:path";
import { DEFAULT_DEV_KEY_FILE } from "../../auth/dev-keys.js";
import { DEFAULT_LOCK_FILE } from "../../contract/lock-file.js";
import type { PinningOptions, StdioUpstream } from "../options.js";
import { DEFAULT_HOST, DEFAULT_PORT, type CheckedConfig } from "./schema.js";
import {
  compact,
  type AuditSpec,
  type AuthSpec,
  type CheckContext,
  type ConfigSpec,
  type CredentialSpec,
  type StoreSpec,
  type UpstreamSpec,
} from "./spec.js";
import type { Path } from "./yaml-source.js";

/** Beside the config file: the default store, audit log and dev issuer key. */
const DEFAULT_DATA_DIR = ".toolgate";
/** `scheme: none`: the variable holds the whole header value. */
const SCHEME_NONE = "none";

type Upstream = CheckedConfig["upstreams"][string];
type Credential = NonNullable<Upstream["credential"]>;

export function toSpec(file: CheckedConfig, ctx: CheckContext): ConfigSpec {
  const at = (p: string) => path.resolve(ctx.baseDir, p);
  const { listen = {} } = file;
  const http = compact({
    path: listen.path,
    maxBodyBytes: listen.maxBodyBytes,
    allowedHosts: listen.allowedHosts,
    allowedOrigins: listen.allowedOrigins,
  });
  // The defaults' files go beside the config too, unless the environment moves them.
  const configured = ctx.env["TOOLGATE_DATA_DIR"];
  const dataDir =
    configured === undefined || configured.trim() === ""
      ? at(DEFAULT_DATA_DIR)
      : path.resolve(configured);
  return compact({
    dataDir,
    name: file.name,
    version: file.version,
    listen: { host: listen.host ?? DEFAULT_HOST, port: listen.port ?? DEFAULT_PORT },
    http: Object.keys(http).length === 0 ? undefined : http,
    auth: authSpec(file.auth, ctx),
    store: file.store === undefined ? undefined : storeSpec(file.store, at),
    audit: file.audit === undefined ? undefined : auditSpec(file.audit, at),
    metrics: typeof file.metrics === "object" ? compact(file.metrics) : file.metrics && {},
    rateLimit: file.rateLimit === undefined ? undefined : compact(file.rateLimit),
    defaultTimeoutMs: file.defaultTimeout,
    maxResultBytes: file.maxResultBytes,
    pinning: pinningSpec(file.pinning, at),
    upstreams: Object.fromEntries(
      Object.entries(file.upstreams).map(([key, upstream]) => [key, upstreamSpec(upstream, at)]),
    ),
  });
}

function authSpec(auth: CheckedConfig["auth"], ctx: CheckContext): AuthSpec {
  const extras = { resource: auth.resource, stepUp: auth.stepUp };
  if (auth.jwt !== undefined) {
    const { jwksFile, ...options } = auth.jwt;
    return compact({
      kind: "jwt" as const,
      path: ["auth", "jwt"],
      options: compact(options),
      jwksFile:
        jwksFile === undefined
          ? undefined
          : { file: path.resolve(ctx.baseDir, jwksFile), path: ["auth", "jwt", "jwksFile"] },
      ...extras,
    });
  }
  if (auth.introspection !== undefined) {
    const { clientSecretEnv, ...options } = auth.introspection;
    const clientSecret = ctx.env[clientSecretEnv] ?? "";
    return compact({
      kind: "introspection" as const,
      path: ["auth", "introspection"],
      options: compact({ ...options, clientSecret }),
      ...extras,
    });
  }
  if (auth.dev !== undefined) {
    const keyFile = auth.dev === true ? undefined : auth.dev.keyFile;
    return compact({
      kind: "dev" as const,
      path: ["auth", "dev"],
      keyFile: path.resolve(ctx.baseDir, keyFile ?? DEFAULT_DEV_KEY_FILE),
      ...extras,
    });
  }
  return { kind: "none" };
}

function storeSpec(spec: string, at: (p: string) => string): StoreSpec {
  const text = spec.trim();
  const where: Path = ["store"];
  if (text === "memory") return { kind: "memory", path: where };
  const sqlite = /^sqlite:(.+)$/.exec(text);
  if (sqlite) return { kind: "sqlite", file: at(sqlite[1]!), path: where };
  if (/^rediss?:\/\//.test(text)) return { kind: "redis", url: text, path: where };
  return { kind: "postgres", url: text, path: where };
}

function auditSpec(
  audit: NonNullable<CheckedConfig["audit"]>,
  at: (p: string) => string,
): AuditSpec | false {
  if (audit === false) return false;
  if (audit === true) return {};
  if (typeof audit === "string" || Array.isArray(audit)) return { sinks: sinks(audit, ["audit"]) };
  return compact({
    sinks: audit.sinks === undefined ? undefined : sinks(audit.sinks, ["audit", "sinks"]),
    failClosed: audit.failClosed,
    redactKeys: audit.redactKeys,
    redactEmails: audit.redactEmails,
  });

  function sinks(value: string | readonly string[], where: Path) {
    const items = typeof value === "string" ? [value] : value;
    return items.map((item, i) => {
      const text = item.trim();
      const file = /^(file|sqlite):(.+)$/.exec(text);
      return {
        spec: file ? `${file[1]}:${at(file[2]!)}` : text,
        path: typeof value === "string" ? where : [...where, i],
      };
    });
  }
}

function pinningSpec(
  pinning: CheckedConfig["pinning"],
  at: (p: string) => string,
): PinningOptions | false {
  if (pinning === false) return false;
  const options = pinning === true || pinning === undefined ? {} : pinning;
  return compact({
    lockFile: at(options.lockFile ?? DEFAULT_LOCK_FILE),
    refreshIntervalMs: options.refreshInterval,
  });
}

function upstreamSpec(upstream: Upstream, at: (p: string) => string): UpstreamSpec {
  const { stdio, credential, discoveryCredential, restart, defaults, tools, ...rest } = upstream;
  const policy = (p: NonNullable<typeof defaults>) => {
    const { timeout, rateLimit, ...others } = p;
    return compact({
      ...others,
      timeoutMs: timeout,
      rateLimit: rateLimit === undefined ? undefined : compact(rateLimit),
    });
  };
  return compact({
    stdio: stdio === undefined ? undefined : stdioSpec(stdio, at),
    url: rest.url,
    credential: credential === undefined ? undefined : credentialSpec(credential),
    discoveryCredential:
      discoveryCredential === undefined ? undefined : credentialSpec(discoveryCredential),
    prefix: rest.prefix,
    timeoutMs: rest.timeout,
    connectTimeoutMs: rest.connectTimeout,
    restart:
      restart === undefined
        ? undefined
        : compact({ initialDelayMs: restart.initialDelay, maxDelayMs: restart.maxDelay }),
    maxResultBytes: rest.maxResultBytes,
    redactErrors: rest.redactErrors,
    honoursIdempotencyKey: rest.honoursIdempotencyKey,
    defaults: defaults === undefined ? undefined : policy(defaults),
    tools:
      tools === undefined
        ? undefined
        : Object.fromEntries(Object.entries(tools).map(([name, p]) => [name, policy(p)])),
  });
}

function stdioSpec(
  stdio: NonNullable<Upstream["stdio"]>,
  at: (p: string) => string,
): StdioUpstream {
  // Relative args (a directory to serve, a script) mean what they mean beside the file.
  return compact({ ...stdio, cwd: at(stdio.cwd ?? ".") });
}

function credentialSpec(credential: Credential): CredentialSpec {
  if (credential.static !== undefined) {
    const { env, header, scheme } = credential.static;
    const none = scheme?.toLowerCase() === SCHEME_NONE;
    return {
      kind: "static",
      options: compact({ valueFromEnv: env, header, scheme: none ? undefined : scheme }),
    };
  }
  const oauth = credential.clientCredentials ?? credential.tokenExchange;
  const { clientSecretEnv, ...options } = oauth!;
  const common = compact({ ...options, clientSecretFromEnv: clientSecretEnv });
  return credential.clientCredentials !== undefined
    ? { kind: "clientCredentials", options: common }
    : { kind: "tokenExchange", options: { ...common, audience: common.audience! } };
}
