// Every relative link of the README and the docs/ pages leads somewhere: `[text](path)`
// to a file of this repository (tracked, or new and not ignored; never outside the
// repository, e.g. ../shared), and `[text](path#anchor)` or `[text](#anchor)` to a heading
// of that page, by GitHub's rules for heading ids. http(s) and mailto links are not
// followed (no network in tests); links in code blocks and `code spans` are not links.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/process.js";
import { docPages } from "./blocks.js";

interface Link {
  line: number;
  target: string;
}

const FENCE = /^\s*(`{3,}|~{3,})/;
const INLINE_LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/;
const EXTERNAL = /^(https?:|mailto:)/i;

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, i) => {
    const open = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (open !== undefined && open[0] === fence[0] && open.length >= fence.length)
        fence = undefined;
      return;
    }
    if (open !== undefined) {
      fence = open;
      return;
    }
    out.push({ line: i + 1, text: line });
  });
  return out;
}

/** Code spans removed, so that `[a](b)` shown as code is not taken for a link. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, "");
}

function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const prose = withoutCodeSpans(raw);
    for (const match of prose.matchAll(INLINE_LINK)) links.push({ line, target: match[1]! });
    const definition = REFERENCE_DEFINITION.exec(prose);
    if (definition) links.push({ line, target: definition[1]! });
  }
  return links;
}

/** GitHub's id for a heading's text: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text only
    .replace(/<[^>]+>/g, "") // inline HTML
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Every heading id of a page; a repeated heading gets `-1`, `-2`, ... */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Files of the repository (tracked, or untracked and not ignored) and their folders. */
function repositoryPaths(): Set<string> {
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: REPO_ROOT, encoding: "utf8" },
  )
    .split("\0")
    .filter(Boolean);
  const paths = new Set<string>([""]);
  for (const file of files) {
    paths.add(file);
    for (let dir = path.posix.dirname(file); dir !== "."; dir = path.posix.dirname(dir))
      paths.add(dir);
  }
  return paths;
}

/** What is wrong with one link of `page` (relative to the root), or undefined. */
function checkLink(
  page: string,
  target: string,
  paths: ReadonlySet<string>,
  read: (file: string) => string,
): string | undefined {
  if (EXTERNAL.test(target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return `a ${target.split(":")[0]}: link`;
  const hash = target.indexOf("#");
  const file = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  if (file.startsWith("/")) return "an absolute path: write it relative to the page";
  const resolved =
    file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
  if (resolved === ".." || resolved.startsWith("../"))
    return `${resolved} is outside the repository: move the file in, or link to its public URL`;
  const key = resolved.replace(/\/$/, "").replace(/^\.$/, "");
  if (!paths.has(key)) return `${resolved} does not exist in the repository`;
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith(".md")) return `#${anchor} on ${resolved}, which is not a Markdown page`;
  if (!anchorsOf(read(resolved)).has(anchor))
    return `${resolved} has no heading with the id #${anchor}`;
  return undefined;
}

describe("the link checker", () => {
  test("makes GitHub's heading ids", () => {
    const page = [
      "# Gateway: the same boundary",
      '## Contract pinning: quarantine instead of a silent "rug pull"',
      "### `listen`",
      "## Auth: who the call is for",
      "## Notes",
      "## Notes",
      "```sh",
      "# not a heading",
      "```",
      "## Notes",
      "## snake_case and [a link](x.md) and 3.5 µs",
    ].join("\n");
    assert.deepEqual(
      [...anchorsOf(page)],
      [
        "gateway-the-same-boundary",
        "contract-pinning-quarantine-instead-of-a-silent-rug-pull",
        "listen",
        "auth-who-the-call-is-for",
        "notes",
        "notes-1",
        "notes-2",
        "snake_case-and-a-link-and-35-µs",
      ],
    );
  });

  test("finds links in prose only", () => {
    const text = [
      "See [auth](auth.md#verifiers) and ![logo](img/logo.png), not `[code](nope.md)`.",
      "```md",
      "[in a block](nope.md)",
      "```",
      "[ref]: design/architecture.md",
    ].join("\n");
    assert.deepEqual(
      linksOf(text).map((l) => l.target),
      ["auth.md#verifiers", "img/logo.png", "design/architecture.md"],
    );
  });

  test("refuses missing files, missing anchors and paths out of the repository", () => {
    const paths = new Set(["", "docs", "docs/auth.md", "README.md"]);
    const read = (file: string) => (file === "docs/auth.md" ? "# Auth\n## Verifiers\n" : "# x\n");
    assert.equal(checkLink("README.md", "docs/auth.md#verifiers", paths, read), undefined);
    assert.equal(checkLink("docs/auth.md", "#auth", paths, read), undefined);
    assert.equal(checkLink("docs/auth.md", "../README.md", paths, read), undefined);
    assert.equal(checkLink("README.md", "https://example.com/x", paths, read), undefined);
    assert.match(checkLink("README.md", "docs/nope.md", paths, read) ?? "", /does not exist/);
    assert.match(checkLink("README.md", "docs/auth.md#nope", paths, read) ?? "", /no heading/);
    assert.match(
      checkLink("README.md", "../shared/design/idempotency.md", paths, read) ?? "",
      /outside the repository/,
    );
    assert.match(checkLink("docs/auth.md", "/README.md", paths, read) ?? "", /absolute/);
  });
});

describe("every relative link of the README and docs/ resolves", () => {
  const paths = repositoryPaths();
  const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), "utf8");
  const pages = docPages();

  test("the pages are found", () => {
    assert.ok(pages.includes("README.md") && pages.includes("docs/README.md"), pages.join(", "));
  });

  for (const page of pages) {
    test(page, () => {
      const problems = linksOf(read(page)).flatMap(({ line, target }) => {
        const problem = checkLink(page, target, paths, read);
        return problem === undefined ? [] : [`${page}:${line}: (${target}) ${problem}`];
      });
      assert.deepEqual(problems, []);
    });
  }
});
