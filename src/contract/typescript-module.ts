// `toolgate contract ... --module tools.ts` from the compiled CLI (`npx toolgate`): Node
// cannot import TypeScript by itself, and toolgate does not ship a TypeScript loader. A
// project that writes its tools in TypeScript usually has tsx installed already, so the
// CLI borrows that one: tsx's `tsImport` loads the one module (and what it imports)
// without registering a loader for the whole process.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isRecord } from "../util/is-record.js";

type TsImport = (specifier: string, parentURL: string) => Promise<Record<string, unknown>>;

/** tsx's `tsImport`, resolved from `cwd` (the user's project); undefined when tsx is not there. */
async function findTsImport(cwd: string): Promise<TsImport | undefined> {
  let manifest: string;
  try {
    manifest = createRequire(path.join(cwd, "package.json")).resolve("tsx/package.json");
  } catch {
    return undefined;
  }
  // The ESM entry of `tsx/esm/api`, read from tsx's own exports map (its CommonJS build of
  // that entry cannot be imported from an ES module).
  const pkg: unknown = JSON.parse(await readFile(manifest, "utf8"));
  const exportsMap = isRecord(pkg) && isRecord(pkg["exports"]) ? pkg["exports"] : {};
  const api = exportsMap["./esm/api"];
  const entry = isRecord(api) && isRecord(api["import"]) ? api["import"]["default"] : undefined;
  if (typeof entry !== "string") return undefined;
  const loaded = (await import(pathToFileURL(path.join(path.dirname(manifest), entry)).href)) as {
    tsImport?: unknown;
  };
  return typeof loaded.tsImport === "function" ? (loaded.tsImport as TsImport) : undefined;
}

/**
 * Imports a TypeScript module with the tsx installed in `cwd`'s project. Undefined when
 * there is none, so the caller can say how to get it.
 */
export async function importWithProjectTsx(
  file: string,
  cwd: string,
): Promise<Record<string, unknown> | undefined> {
  const tsImport = await findTsImport(cwd);
  if (!tsImport) return undefined;
  return tsImport(pathToFileURL(file).href, import.meta.url);
}
