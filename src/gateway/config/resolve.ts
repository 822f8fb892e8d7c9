// A checked ConfigSpec -> GatewayOptions, with real objects: the token verifier, store,
// audit sinks and credential providers. Their constructors check their options again and
// throw TypeError; each error becomes an issue at the setting it came from. Nothing here
// connects anywhere: stores and sinks open their connection or file on first use.
import { readFile } from "node:fs/promises";
import type { AuditOptions } from "../../audit/options.js";
import type { AuditSink } from "../../audit/sink.js";
import { auditSinkFromSpec } from "../../audit/sink-spec.js";
import type { AuthOption } from "../../auth/auth-options.js";
import { devIssuer } from "../../auth/dev-issuer.js";
import { introspectionVerifier } from "../../auth/introspection-verifier.js";
import { jwtVerifier } from "../../auth/jwt-verifier.js";
import type { TokenVerifier } from "../../auth/verifier.js";
import type { CredentialProvider } from "../../backends/credential.js";
import { clientCredentials, staticCredential, tokenExchange } from "../../backends/credentials.js";
import type { IdempotencyStore } from "../../idempotency/store.js";
import { memoryStore } from "../../stores/memory-store.js";
import { sqliteStore } from "../../stores/sqlite-store.js";
import { isRecord } from "../../util/is-record.js";
import type { GatewayOptions, UpstreamOptions } from "../options.js";
import type { Reporter } from "./issues.js";
import type { AuditSpec, AuthSpec, ConfigSpec, CredentialSpec, StoreSpec } from "./spec.js";
import { compact } from "./spec.js";
import type { Path } from "./yaml-source.js";

/** Constructor option names that the file spells differently. */
const FILE_KEYS: Readonly<Record<string, string>> = {
  valueFromEnv: "env",
  clientSecretFromEnv: "clientSecretEnv",
  clientSecret: "clientSecretEnv",
  jwks: "jwksFile",
  algorithm: "algorithms",
};
/** The keys of each section in the file (see the schema), where an error can point. */
const JWT_KEYS = ["issuer", "audience", "jwksUrl", "jwksFile", "algorithms", "typ"];
const INTROSPECTION_KEYS = ["url", "clientId", "clientSecretEnv", "audience", "issuer"];
const STATIC_KEYS = ["env", "header", "scheme"];
const OAUTH_KEYS = ["tokenUrl", "clientId", "clientSecretEnv", "scope", "audience", "authMethod"];
/** `jwtVerifier: `, `devIssuer(options): `, and `clientSecretFromEnv: ` after them. */
const FACTORY_PREFIX = /^(?:[A-Za-z]+(?:\([a-z]*\))?: )+/;

/**
 * Runs `build`; an error it throws becomes an issue at `at`, or at the option its
 * message names (`jwtVerifier: typ must be...` -> `auth.jwt.typ`) when that is a key of
 * `keys`. The factory's name is dropped from the message: the path says where.
 */
async function attempt<T>(
  c: Reporter,
  at: Path,
  keys: readonly string[],
  build: () => T | Promise<T>,
): Promise<T | undefined> {
  try {
    return await build();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const match = /^[A-Za-z]+(?:\([a-z]*\))?: ([A-Za-z]+)\b/.exec(message);
    const named = match === null ? undefined : (FILE_KEYS[match[1]!] ?? match[1]!);
    const path = named !== undefined && keys.includes(named) ? [...at, named] : at;
    return c.report(path, message.replace(FACTORY_PREFIX, ""));
  }
}

export async function resolveOptions(
  spec: ConfigSpec,
  c: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<GatewayOptions | undefined> {
  const auth = await resolveAuth(spec.auth, c, env);
  const store = spec.store === undefined ? undefined : await resolveStore(spec.store, c);
  const audit = spec.audit === undefined ? undefined : await resolveAudit(spec.audit, c);
  const upstreams: [string, UpstreamOptions][] = [];
  for (const [key, upstream] of Object.entries(spec.upstreams)) {
    const { credential, discoveryCredential, ...rest } = upstream;
    const at: Path = ["upstreams", key];
    upstreams.push([
      key,
      compact({
        ...rest,
        credential: credential && (await resolveCredential(credential, [...at, "credential"], c)),
        discoveryCredential:
          discoveryCredential &&
          (await resolveCredential(discoveryCredential, [...at, "discoveryCredential"], c)),
      }),
    ]);
  }
  if (c.issues.length > 0) return undefined;
  return compact({
    name: spec.name,
    version: spec.version,
    upstreams: Object.fromEntries(upstreams),
    auth,
    store,
    audit,
    metrics: spec.metrics,
    rateLimit: spec.rateLimit,
    http: spec.http,
    defaultTimeoutMs: spec.defaultTimeoutMs,
    maxResultBytes: spec.maxResultBytes,
    dataDir: spec.dataDir,
    pinning: spec.pinning,
  });
}

async function resolveAuth(
  spec: AuthSpec,
  c: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<AuthOption | undefined> {
  if (spec.kind === "none") return undefined;
  let verifier: TokenVerifier | undefined;
  if (spec.kind === "jwt") {
    const { jwksFile } = spec;
    const jwks =
      jwksFile === undefined ? undefined : await readJwks(jwksFile.file, jwksFile.path, c);
    if (jwksFile !== undefined && jwks === undefined) return undefined;
    verifier = await attempt(c, spec.path, JWT_KEYS, () =>
      jwtVerifier({ ...spec.options, ...(jwks === undefined ? {} : { jwks }) }),
    );
  } else if (spec.kind === "introspection") {
    verifier = await attempt(c, spec.path, INTROSPECTION_KEYS, () =>
      introspectionVerifier(spec.options),
    );
  } else {
    const { keyFile } = spec;
    verifier = await attempt(c, spec.path, ["keyFile"], async () => {
      const issuer = await devIssuer({ ...(keyFile === undefined ? {} : { keyFile }), env });
      return issuer.verifier();
    });
  }
  if (verifier === undefined) return undefined;
  if (spec.resource === undefined && spec.stepUp === undefined) return verifier;
  return compact({ verifier, resource: spec.resource, stepUp: spec.stepUp });
}

/** A JSON Web Key Set from a file: `{ "keys": [...] }`. */
async function readJwks(file: string, at: Path, c: Reporter) {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return c.report(at, `cannot read ${file}: ${describeFileError(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return c.report(at, `${file} is not valid JSON`);
  }
  if (!isRecord(data) || !Array.isArray(data.keys) || !data.keys.every(isRecord)) {
    return c.report(at, `${file} is not a JSON Web Key Set: expected { "keys": [ ... ] }`);
  }
  return { keys: data.keys };
}

async function resolveStore(spec: StoreSpec, c: Reporter): Promise<IdempotencyStore | undefined> {
  return attempt(c, spec.path, [], async () => {
    switch (spec.kind) {
      case "memory":
        return memoryStore();
      case "sqlite":
        return sqliteStore({ path: spec.file });
      case "postgres": {
        // Loaded only when used: the module pulls in nothing of pg until it connects, but a
        // gateway without PostgreSQL need not load it at all. Same for Redis.
        const { postgresStore } = await import("../../stores/postgres-store.js");
        return postgresStore({ connectionString: spec.url });
      }
      case "redis": {
        const { redisStore } = await import("../../stores/redis-store.js");
        return redisStore({ url: spec.url });
      }
    }
  });
}

async function resolveAudit(spec: AuditSpec | false, c: Reporter): Promise<AuditOptions | false> {
  if (spec === false) return false;
  let sinks: AuditSink[] | undefined;
  if (spec.sinks !== undefined) {
    sinks = [];
    for (const sink of spec.sinks) {
      const made = await attempt(c, sink.path, [], () => auditSinkFromSpec(sink.spec));
      if (made !== undefined) sinks.push(made);
    }
  }
  return compact({
    sinks,
    failClosed: spec.failClosed,
    redactKeys: spec.redactKeys,
    redactEmails: spec.redactEmails,
  });
}

async function resolveCredential(
  spec: CredentialSpec,
  field: Path,
  c: Reporter,
): Promise<CredentialProvider | undefined> {
  const where = [...field, spec.kind];
  const keys = spec.kind === "static" ? STATIC_KEYS : [...OAUTH_KEYS, "resource"];
  switch (spec.kind) {
    case "static":
      return attempt(c, where, keys, () => staticCredential(spec.options));
    case "clientCredentials":
      return attempt(c, where, keys, () => clientCredentials(spec.options));
    case "tokenExchange":
      return attempt(c, where, keys, () => tokenExchange(spec.options));
  }
}

/** "no such file", "permission denied", ...: the errno's meaning without Node's wording. */
export function describeFileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory, not a file";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    default:
      return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
  }
}
