// The package's entry points as package.json `exports` lists them, read with the
// TypeScript compiler from the source files they are built from: the root stays the
// authoring API (at most MAX_ROOT_NAMES names, values and types together, so it cannot
// grow back one convenience at a time), no name is exported from two entries, and the
// pages that say where a name comes from (docs/api.md, CHANGELOG.md's Unreleased section)
// say what the code does. The compile-time side is test/types/.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";
import ts from "typescript";
import { REPO_ROOT } from "../helpers/process.js";

const MAX_ROOT_NAMES = 60;

interface Entry {
  /** The specifier a user imports: "toolgate", "toolgate/pipeline". */
  specifier: string;
  /** The source file dist/ builds it from, relative to the repository's root. */
  source: string;
  values: string[];
  types: string[];
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | { types?: string; import?: string }>;
};
const subpaths = Object.entries(manifest.exports).filter(([key]) => key !== "./package.json");

function sourceOf(target: string | { types?: string; import?: string }): string {
  assert.equal(typeof target, "object", "each entry has a types and an import condition");
  const { types, import: js } = target as { types?: string; import?: string };
  const built = /^\.\/dist\/(src\/.+)\.js$/.exec(js ?? "")?.[1];
  assert.ok(built, `import points into dist/src: ${js}`);
  assert.equal(types, `./dist/${built}.d.ts`, "types sit beside the JavaScript");
  return `${built}.ts`;
}

/** Each entry's exported names, values and types apart, as the compiler sees them. */
function readEntries(): Entry[] {
  const sources = subpaths.map(([, target]) => sourceOf(target));
  const config = ts.readConfigFile(path.join(REPO_ROOT, "tsconfig.json"), (f) =>
    ts.sys.readFile(f),
  );
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO_ROOT);
  const program = ts.createProgram(
    sources.map((s) => path.join(REPO_ROOT, s)),
    options,
  );
  const checker = program.getTypeChecker();
  return subpaths.map(([key], i) => {
    const file = program.getSourceFile(path.join(REPO_ROOT, sources[i]!));
    assert.ok(file, `${sources[i]} exists`);
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
    }
    const specifier = key === "." ? "toolgate" : `toolgate/${key.slice(2)}`;
    return { specifier, source: sources[i]!, values: values.sort(), types: types.sort() };
  });
}

/** The `name`s quoted in backticks in a piece of Markdown. */
function quotedNames(text: string): string[] {
  return [...text.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!).sort();
}

let entries: Entry[];
let root: Entry;
before(() => {
  entries = readEntries();
  root = entries.find((e) => e.specifier === "toolgate")!;
});

describe("the package's entry points", () => {
  it("each export is built from a source entry of explicit named re-exports", () => {
    assert.ok(manifest.exports["."], "the root is exported");
    for (const [key, target] of subpaths) {
      const source = sourceOf(target);
      assert.ok(existsSync(path.join(REPO_ROOT, source)), `${key}: ${source} exists`);
      const text = readFileSync(path.join(REPO_ROOT, source), "utf8");
      assert.doesNotMatch(text, /^\s*export\s*\*/m, `${source} names what it exports`);
    }
  });

  it(`the root exports at most ${MAX_ROOT_NAMES} names, values and types together`, () => {
    const names = [...root.values, ...root.types];
    assert.ok(
      names.length <= MAX_ROOT_NAMES,
      `src/index.ts exports ${names.length} names (${root.values.length} values, ` +
        `${root.types.length} types); move what a tool author does not need to a subpath ` +
        `entry (docs/api.md): ${names.join(", ")}`,
    );
    // The authoring API is there: a test that passes on an empty root proves nothing.
    for (const name of ["defineTool", "createToolServer", "ToolError", "ToolContext"]) {
      assert.ok(names.includes(name), `the root exports ${name}`);
    }
  });

  it("no name is exported from two entries", () => {
    const seen = new Map<string, string>();
    for (const entry of entries) {
      for (const name of [...entry.values, ...entry.types]) {
        const other = seen.get(name);
        assert.equal(other, undefined, `${name} is exported from ${other} and ${entry.specifier}`);
        seen.set(name, entry.specifier);
      }
    }
  });

  it("docs/api.md lists every entry with the values and types it exports", () => {
    const page = readFileSync(path.join(REPO_ROOT, "docs/api.md"), "utf8");
    const sections = new Map(
      [...page.matchAll(/^## `([^`]+)`\n([\s\S]*?)(?=^## |(?![\s\S]))/gm)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    assert.deepEqual(
      [...sections.keys()].sort(),
      entries.map((e) => e.specifier).sort(),
      "one section per entry in package.json exports",
    );
    for (const entry of entries) {
      const section = sections.get(entry.specifier)!;
      const paragraph = (label: string): string[] => {
        const found = new RegExp(`^${label}: ([\\s\\S]*?)(?=\\n\\n|(?![\\s\\S]))`, "m").exec(
          section,
        );
        assert.ok(found, `docs/api.md's ${entry.specifier} section has a "${label}:" paragraph`);
        return quotedNames(found[1]!);
      };
      assert.deepEqual(paragraph("Values"), entry.values, `${entry.specifier}'s values`);
      assert.deepEqual(paragraph("Types"), entry.types, `${entry.specifier}'s types`);
    }
  });

  it("CHANGELOG.md's Unreleased section moves each name to the entry that exports it", () => {
    const changelog = readFileSync(path.join(REPO_ROOT, "CHANGELOG.md"), "utf8");
    const unreleased = /^## Unreleased\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(changelog)?.[1];
    if (unreleased === undefined) return; // released: the notes are history, not a claim
    const moves = [
      ...unreleased.matchAll(/^- `(toolgate[^`]*)` \((\d+)\): ([\s\S]*?)(?=^- |^$)/gm),
    ];
    for (const [, specifier, count, list] of moves) {
      const entry = entries.find((e) => e.specifier === specifier);
      assert.ok(entry, `CHANGELOG.md moves names to ${specifier}, which package.json exports`);
      const names = quotedNames(list!);
      assert.equal(names.length, Number(count), `${specifier}'s count matches its list`);
      for (const name of names) {
        assert.ok(
          entry.values.includes(name) || entry.types.includes(name),
          `CHANGELOG.md says ${name} is in ${specifier}, which does not export it`,
        );
      }
    }
  });
});
