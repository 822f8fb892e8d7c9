// What `toolgate gateway --check` prints per upstream: how the gateway will reach it, in
// which directory it runs, and exactly which header its credential sends, so a reader
// sees the effect of defaults (the child's cwd, the header and scheme) without guessing.
// Secrets are shown by the name of their variable only.
import type { ConfigSpec, CredentialSpec } from "./spec.js";

export function describeUpstreams(spec: ConfigSpec): string[] {
  return Object.entries(spec.upstreams).map(([key, upstream]) => {
    const prefix = upstream.prefix ?? key;
    const parts: string[] = [];
    if (upstream.stdio) {
      const { command, args = [], cwd } = upstream.stdio;
      const line = [command, ...args].map(quote).join(" ");
      parts.push(`runs ${line}${cwd === undefined ? "" : ` in ${cwd}`}`);
    } else if (upstream.url !== undefined) {
      parts.push(`at ${upstream.url}`);
    }
    if (upstream.credential) parts.push(describeCredential(upstream.credential));
    if (upstream.discoveryCredential)
      parts.push(`discovery: ${describeCredential(upstream.discoveryCredential)}`);
    return `${key}: tools as ${prefix}.<tool>; ${parts.join("; ")}`;
  });
}

function describeCredential(spec: CredentialSpec): string {
  switch (spec.kind) {
    case "static": {
      const { header = "authorization", scheme, valueFromEnv } = spec.options;
      const value = scheme === undefined ? `$${valueFromEnv}` : `${scheme} $${valueFromEnv}`;
      return `sends "${header.toLowerCase()}: ${value}"`;
    }
    case "clientCredentials":
      return `sends a client-credentials token from ${String(spec.options.tokenUrl)}`;
    case "tokenExchange":
      return `sends a token exchanged per caller at ${String(spec.options.tokenUrl)}`;
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg);
}
