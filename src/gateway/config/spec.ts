// A checked config file as data: what to-spec.ts produces and resolve.ts turns into
// GatewayOptions. Everything here is validated and resolved (absolute paths,
// milliseconds, secrets read from the environment) except the runtime objects, which
// keep the path of the setting they come from, so a constructor's error can point at it.
import type { IntrospectionVerifierOptions } from "../../auth/introspection-verifier.js";
import type { JwtVerifierOptions } from "../../auth/jwt-verifier.js";
import type {
  ClientCredentialsOptions,
  StaticCredentialOptions,
  TokenExchangeOptions,
} from "../../backends/credentials.js";
import type { MetricsOptions } from "../../observability/metrics.js";
import type { RateLimitOptions } from "../../tool/rate-limit-options.js";
import type { HttpOptions } from "../../server/http-server.js";
import type { PinningOptions, UpstreamOptions } from "../options.js";
import type { Path } from "./yaml-source.js";

/** What the checks need besides the file. */
export interface CheckContext {
  /** Absolute: the directory relative paths are resolved against. */
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface ListenSpec {
  readonly host: string;
  readonly port: number;
}

/** `resource` and `stepUp` of AuthConfig, when the file sets them. */
interface AuthExtras {
  readonly path: Path;
  readonly resource?: string;
  readonly stepUp?: boolean;
}

export type AuthSpec =
  | (AuthExtras & {
      readonly kind: "jwt";
      /** Without a key source: jwksUrl is in here, or jwksFile is read when building. */
      readonly options: Omit<JwtVerifierOptions, "jwks">;
      readonly jwksFile?: { readonly file: string; readonly path: Path };
    })
  | (AuthExtras & {
      readonly kind: "introspection";
      readonly options: IntrospectionVerifierOptions;
    })
  | (AuthExtras & { readonly kind: "dev"; readonly keyFile?: string })
  | { readonly kind: "none" };

export type StoreSpec = { readonly path: Path } & (
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly file: string }
  | { readonly kind: "postgres"; readonly url: string }
  | { readonly kind: "redis"; readonly url: string }
);

export interface AuditSpec {
  /** Specs for auditSinkFromSpec, with file and sqlite paths made absolute. */
  readonly sinks?: readonly { readonly spec: string; readonly path: Path }[];
  readonly failClosed?: boolean;
  readonly redactKeys?: readonly string[];
  readonly redactEmails?: boolean;
}

/** Its constructor errors point at `upstreams.<key>.<credential field>.<kind>`. */
export type CredentialSpec =
  | { readonly kind: "static"; readonly options: StaticCredentialOptions }
  | { readonly kind: "clientCredentials"; readonly options: ClientCredentialsOptions }
  | { readonly kind: "tokenExchange"; readonly options: TokenExchangeOptions };

export type UpstreamSpec = Omit<UpstreamOptions, "credential" | "discoveryCredential"> & {
  readonly credential?: CredentialSpec;
  readonly discoveryCredential?: CredentialSpec;
};

export interface ConfigSpec {
  readonly name?: string;
  readonly version?: string;
  readonly listen: ListenSpec;
  readonly http?: HttpOptions;
  readonly auth: AuthSpec;
  readonly store?: StoreSpec;
  readonly audit?: AuditSpec | false;
  readonly metrics?: MetricsOptions | false;
  readonly rateLimit?: RateLimitOptions;
  readonly defaultTimeoutMs?: number;
  readonly maxResultBytes?: number;
  /** Absolute: where the default store and audit log go (GatewayOptions.dataDir). */
  readonly dataDir: string;
  readonly pinning: PinningOptions | false;
  readonly upstreams: Readonly<Record<string, UpstreamSpec>>;
}

type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;

/** `T` with its possibly-undefined properties optional, as exactOptionalPropertyTypes wants. */
export type Compact<T> = { [K in RequiredKeys<T>]: T[K] } & {
  [K in OptionalKeys<T>]?: Exclude<T[K], undefined>;
};

/** A copy of `object` without its undefined properties. */
export function compact<T extends object>(object: T): Compact<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as Compact<T>;
}
