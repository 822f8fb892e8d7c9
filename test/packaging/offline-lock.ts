// A package-lock.json for a fresh app that depends on the packed toolgate tarball, built
// from this repository's own lockfile, so that the app installs with `--offline` from the
// npm cache that `npm ci` of this repository filled.
//
// Why a lockfile: without one, `npm install --offline <tarball> zod` has to resolve every
// dependency from its packument, and npm 11's arborist asks for the full packument
// (`fullMetadata: true`, `accept: application/json`) while the cache holds the abbreviated
// ones (`application/vnd.npm.install-v1+json`) that resolving this repository stored: a
// different cache entry, so --offline fails with ENOTCACHED even though every tarball is
// there. With a complete lockfile npm resolves nothing and fetches only tarballs, which
// the cache holds (by integrity), so nothing goes to the network.
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../helpers/process.js";

type LockEntry = Record<string, unknown> & {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

interface Packed {
  /** The tarball's path relative to the app folder ("../toolgate-0.1.0.tgz"). */
  spec: string;
  integrity: string;
}

/**
 * The app's package.json dependencies and its lockfile: toolgate from `packed`, plus
 * `extra` names at the versions this repository's lockfile has (e.g. zod).
 */
export function offlineLock(
  appName: string,
  packed: Packed,
  extra: readonly string[],
): { dependencies: Record<string, string>; lock: Record<string, unknown> } {
  const repoLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
    [key: string]: unknown;
    version: string;
    dependencies: Record<string, string>;
  };
  const source = repoLock.packages;
  const out: Record<string, LockEntry> = {};

  // Node's resolution, as the lockfile lays packages out: the nearest node_modules/<name>
  // from the dependent's folder up to the top.
  const locate = (from: string, name: string): string | undefined => {
    for (let dir = from; ;) {
      const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
      if (source[candidate]) return candidate;
      if (!dir) return undefined;
      const up = dir.lastIndexOf("/node_modules/");
      dir = up === -1 ? "" : dir.slice(0, up);
    }
  };
  const include = (from: string, name: string, optional: boolean): void => {
    const found = locate(from, name);
    if (!found) {
      if (optional) return;
      throw new Error(`the repository's lockfile has no ${name} (needed from '${from || "root"}')`);
    }
    if (out[found]) return;
    // Flags that described the package's role in this repository (dev-only and so on).
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = source[found]!;
    out[found] = entry;
    walk(found, entry);
  };
  const walk = (at: string, entry: LockEntry): void => {
    for (const name of Object.keys(entry.dependencies ?? {})) include(at, name, false);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) include(at, name, true);
    // npm installs required peers; optional ones only when something else brings them.
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (!entry.peerDependenciesMeta?.[name]?.optional) include(at, name, false);
    }
  };

  const toolgate: LockEntry = {
    version: manifest.version,
    resolved: `file:${packed.spec}`,
    integrity: packed.integrity,
    ...pick(manifest, [
      "license",
      "dependencies",
      "peerDependencies",
      "peerDependenciesMeta",
      "bin",
      "engines",
    ]),
  };
  out["node_modules/toolgate"] = toolgate;
  walk("node_modules/toolgate", toolgate);
  const dependencies: Record<string, string> = { toolgate: `file:${packed.spec}` };
  for (const name of extra) {
    include("", name, false);
    dependencies[name] = `^${out[`node_modules/${name}`]!.version}`;
  }
  const lock = {
    name: appName,
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: { "": { name: appName, version: "1.0.0", dependencies }, ...sorted(out) },
  };
  return { dependencies, lock };
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]));
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
