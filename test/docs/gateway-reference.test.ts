// docs/gateway.md's config reference is generated from the config's zod schema
// (scripts/gen-gateway-reference.ts): this fails when the checked-in text is not what the
// generator writes now, so a key added, renamed or re-described in the schema without
// `npm run docs:gateway` fails CI. It also checks that every key of the schema has a
// type and a meaning in the reference, so a key cannot be added undocumented.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { DOC_FILE, referenceMarkdown, renderDoc } from "../../scripts/gen-gateway-reference.js";

describe("docs/gateway.md config reference", () => {
  it("is what npm run docs:gateway writes from the schema", async () => {
    const current = await readFile(DOC_FILE, "utf8");
    const expected = await renderDoc(current);
    assert.ok(
      current === expected,
      "docs/gateway.md's config reference differs from the schema: run npm run docs:gateway",
    );
  });

  it("documents every key with a type and a meaning", () => {
    const rows = referenceMarkdown()
      .split("\n")
      .filter((line) => line.startsWith("| `"));
    assert.ok(rows.length > 60, `only ${rows.length} keys`);
    for (const row of rows) {
      const [, key, type, , meaning] = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
      assert.ok(type !== "" && meaning !== "", `${key} has no type or no meaning`);
    }
  });

  it("refuses a doc without its markers", async () => {
    await assert.rejects(renderDoc("# no markers\n"), /has no <!-- BEGIN config reference/);
  });
});
