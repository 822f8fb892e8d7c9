// Writes the reference of every key of `toolgate.yaml` into docs/gateway.md, between the
// markers below, from the config's zod schema (src/gateway/config/schema*.ts): each
// mapping with a `section` in its meta is a heading and a table, each key a row (type and
// default from `.meta()`, meaning from `.describe()`). `npm run docs:gateway` rewrites
// the file; test/docs/gateway-reference.test.ts fails when it is not current.
//
//   npx tsx scripts/gen-gateway-reference.ts [--check]
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { format, resolveConfig } from "prettier";
import type { z } from "zod";
import type { FieldDoc, SectionDoc } from "../src/gateway/config/fields.js";
import { configSchema } from "../src/gateway/config/schema.js";

export const DOC_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "docs",
  "gateway.md",
);
const BEGIN =
  "<!-- BEGIN config reference: generated from src/gateway/config/schema*.ts by `npm run docs:gateway`; edit the schema, not this -->";
const END = "<!-- END config reference -->";

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly valueType?: z.ZodType;
}
type Meta = Partial<FieldDoc> & {
  readonly description?: string;
  readonly section?: SectionDoc;
  readonly kinds?: Record<string, z.ZodType>;
};

const defOf = (schema: z.ZodType) => schema.def as unknown as Def;
const metaOf = (schema: z.ZodType) => (schema.meta() ?? {}) as Meta;

/** The documented mappings a value's schema holds: behind optional, pipes, records, forms. */
function sectionsIn(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  const meta = metaOf(schema);
  if (def.type === "object" && meta.section !== undefined) return [schema];
  const inner = [def.innerType, def.in, def.out, def.valueType, ...Object.values(meta.kinds ?? {})];
  return inner.filter((s) => s !== undefined).flatMap(sectionsIn);
}

const cell = (text: string) => text.replaceAll("|", "\\|");

/** Prose as the docs write it: lines of at most 90 characters (prettier keeps them). */
function wrap(text: string, width = 90): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join("\n");
}

/** The reference as Markdown (not yet formatted). */
export function referenceMarkdown(): string {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (schema: z.ZodType, depth: number) => {
    const { section } = metaOf(schema);
    const shape = defOf(schema).shape;
    if (section === undefined || shape === undefined || seen.has(section.title)) return;
    seen.add(section.title);
    out.push(`${"#".repeat(depth < 2 ? 3 : 4)} ${section.title}`, "");
    if (section.intro !== undefined) out.push(wrap(section.intro), "");
    out.push("| key | type | default | meaning |", "| --- | --- | --- | --- |");
    for (const [key, field] of Object.entries(shape)) {
      const meta = metaOf(field);
      const optional = defOf(field).type === "optional";
      const fallback = meta.default ?? (optional ? "" : "**required**");
      out.push(
        `| \`${key}\` | ${cell(meta.type ?? "")} | ${cell(fallback)} | ${cell(meta.description ?? "")} |`,
      );
    }
    out.push("");
    for (const field of Object.values(shape)) {
      for (const inner of sectionsIn(field)) visit(inner, depth + 1);
    }
  };
  visit(configSchema({}), 0);
  return out.join("\n");
}

/** `doc` with the text between the markers replaced by the current reference, formatted. */
export async function renderDoc(doc: string): Promise<string> {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${DOC_FILE} has no ${BEGIN} ... ${END}`);
  const text = `${doc.slice(0, begin)}${BEGIN}\n\n${referenceMarkdown()}\n${doc.slice(end)}`;
  const config = (await resolveConfig(DOC_FILE)) ?? {};
  return format(text, { ...config, filepath: DOC_FILE });
}

async function main(): Promise<void> {
  const current = await readFile(DOC_FILE, "utf8");
  const next = await renderDoc(current);
  if (process.argv.includes("--check")) {
    if (next === current) return;
    console.error(`${DOC_FILE} is not current: run npm run docs:gateway`);
    process.exitCode = 1;
    return;
  }
  if (next !== current) await writeFile(DOC_FILE, next);
  console.log(next === current ? `${DOC_FILE} is current` : `wrote ${DOC_FILE}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
