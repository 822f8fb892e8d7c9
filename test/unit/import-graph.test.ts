// The architecture page's dependency rule, checked against the code: no import cycles in
// src/, and the inner layers (errors, tool, pipeline) import nothing from the outer ones.
// Type-only imports count: a cycle of types is still two modules that cannot be read, moved
// or published one without the other. The graph is read with TypeScript's own pre-processor
// (every `import`, `import type`, `export ... from` and literal `import()`), not regexes.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const root = path.resolve(import.meta.dirname, "..", "..");
const src = path.join(root, "src");

/** The folders of src/ by layer, innermost first (docs/design/architecture.md draws them). */
const INNER = ["errors", "tool", "pipeline"] as const;
const OUTER = [
  "audit",
  "backends",
  "observability",
  "resources",
  "prompts",
  "completion",
  "server",
  "gateway",
  "contract",
  "client",
  "cli",
] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** src-relative path ("pipeline/types.ts") -> the src files it imports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => path.relative(src, path.resolve(path.dirname(file), spec)))
      .map((rel) => rel.replace(/\.js$/, ".ts"));
    graph.set(path.relative(src, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every strongly connected component with more than one file (Tarjan), each sorted. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

const topFolder = (file: string) => file.split(path.sep)[0]!;

/**
 * A subpath entry (`src/<folder>/index.ts`, published as `toolgate/<folder>`) is a façade
 * of the package, not a module of its folder's layer: it gathers the public names users
 * import from that subpath wherever they live (`toolgate/pipeline` exports `defaultStages`
 * and the idempotency stage, which are built on the pipeline, not part of it). No module of
 * src/ imports one (checked below), so a façade's imports never make a loop between layers
 * and it is left out of the folder graph. It still counts for the file-level checks.
 */
const isFacade = (file: string) => /^[^/\\]+[/\\]index\.ts$/.test(file);

/** Top-level folder -> the top-level folders it imports (façades left out). */
export function folderGraph(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    if (isFacade(file) || !file.includes(path.sep)) continue; // src/index.ts: the root façade
    const from = topFolder(file);
    const to = folders.get(from) ?? new Set<string>();
    folders.set(from, to);
    for (const target of targets) {
      if (!target.includes(path.sep)) continue;
      if (topFolder(target) !== from) to.add(topFolder(target));
    }
  }
  return new Map([...folders].map(([folder, to]) => [folder, [...to].sort()]));
}

describe("the import graph of src/", () => {
  const graph = importGraph();

  it("reads every file and resolves every relative import to a file of src/", () => {
    assert.ok(graph.size > 100, `only ${graph.size} files read`);
    const dangling = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${file} -> ${t}`),
    );
    assert.deepEqual(dangling, []);
  });

  it("has no import cycles", () => {
    const found = cycles(graph);
    assert.deepEqual(
      found.map((c) => c.join(" <-> ")),
      [],
      "files that import each other (type imports included): move the shared types inward",
    );
  });

  it("keeps the inner layers (errors, tool, pipeline) free of the outer ones", () => {
    const wrong = [...graph].flatMap(([file, targets]) => {
      if (!(INNER as readonly string[]).includes(topFolder(file))) return [];
      return targets
        .filter((t) => (OUTER as readonly string[]).includes(topFolder(t)))
        .map((t) => `${file} -> ${t}`);
    });
    assert.deepEqual(wrong, [], "an inner module imports an outer one");
  });

  it("has no loops between the top-level folders of src/ (each layer imports only inward)", () => {
    const folders = folderGraph(graph);
    const loops = cycles(folders).map((loop) => {
      // Name the files behind each edge of the loop, so the message says what to move.
      const edges = [...graph].flatMap(([file, targets]) =>
        isFacade(file)
          ? []
          : targets
              .filter((t) => topFolder(t) !== topFolder(file))
              .filter((t) => loop.includes(topFolder(file)) && loop.includes(topFolder(t)))
              .map((t) => `${file} -> ${t}`),
      );
      return `${loop.join(" <-> ")}: ${edges.join(", ")}`;
    });
    assert.deepEqual(loops, [], "folders that import each other: move the module to its layer");
  });

  it("imports no subpath entry (index.ts) from inside src/, so façades stay out of the layers", () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => isFacade(t) && file !== "index.ts").map((t) => `${file} -> ${t}`),
    );
    assert.deepEqual(wrong, []);
  });

  it("finds a cycle and a self-import when there is one (the check can fail)", () => {
    const sample = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]],
    ]);
    assert.deepEqual(cycles(sample), [["a.ts", "b.ts", "c.ts"], ["e.ts"]]);
  });
});
