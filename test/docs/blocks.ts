// Code blocks of the README and docs/ pages, found by the HTML comments written on the
// lines directly above their fence, so that a test runs a block as the page shows it and
// fails when the page changes under it:
//
//   <!-- example: demo -->        names the block; tests look it up with exampleBlock()
//   <!-- runnable -->             test/docs/runnable-blocks.test.ts runs it
//   <!-- prettier-ignore -->      any other comment is kept in `marks` and ignored here
//   ```sh
//   npm ci && npm start
//   ```
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../helpers/process.js";

export interface CodeBlock {
  /** The page, relative to the repository's root ("README.md", "docs/auth.md"). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string's first word ("sh", "ts", "yaml"; "" for none). */
  lang: string;
  /** The block's text, without the fences, ending in a newline. */
  code: string;
  /** The name given by `<!-- example: NAME -->`, if any. */
  example?: string;
  /** True when `<!-- runnable -->` (or `<!-- runnable: ... -->`) is above the fence. */
  runnable: boolean;
  /** Every comment above the fence, trimmed of `<!--` and `-->`. */
  marks: string[];
}

const COMMENT = /^<!--\s*(.*?)\s*-->$/;
const FENCE = /^(`{3,}|~{3,})\s*([^\s`]*)/;

/** Every fenced code block of one Markdown file (path relative to the repository's root). */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(path.join(REPO_ROOT, file), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!.trimStart());
    if (!open) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence); i++) {
      body.push(lines[i]!);
    }
    const marks: string[] = [];
    for (let j = start - 1; j >= 0; j--) {
      const comment = COMMENT.exec(lines[j]!.trim());
      if (!comment) break;
      marks.unshift(comment[1]!);
    }
    const example = marks.map((m) => /^example:\s*(\S+)/.exec(m)?.[1]).find(Boolean);
    blocks.push({
      file,
      line: start + 1,
      lang: open[2] ?? "",
      code: body.length ? `${body.join("\n")}\n` : "",
      ...(example ? { example } : {}),
      runnable: marks.some((m) => /^runnable\b/.test(m)),
      marks,
    });
  }
  return blocks;
}

/** The README and every Markdown page under docs/, relative to the repository's root. */
export function docPages(): string[] {
  const pages = ["README.md"];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".md")) pages.push(rel);
    }
  };
  walk("docs");
  return pages.sort();
}

/** The block named `<!-- example: name -->` in `file`; fails the test when it is missing. */
export function exampleBlock(name: string, file = "README.md"): CodeBlock {
  const found = codeBlocks(file).filter((b) => b.example === name);
  assert.equal(found.length, 1, `${file} has exactly one block marked <!-- example: ${name} -->`);
  return found[0]!;
}
