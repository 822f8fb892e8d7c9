// The README's library example must stay true: extract it, run it, call it with the SDK client.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { assertReadmeExampleAnswers } from "./readme-example.js";
import { exampleBlock } from "./blocks.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function libraryExample(): string {
  const block = exampleBlock("tool-in-a-few-lines");
  assert.equal(block.lang, "ts", "README's <!-- example: tool-in-a-few-lines --> is a ts block");
  return block.code;
}

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-readme-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the README library example runs and answers as documented", async () => {
  const source = libraryExample();
  assert.ok(source.split("\n").length <= 20, "the example stays short");
  assert.match(source, /\.listen\(\{ port: 3000 \}\)/);
  const runnable = source
    .replace(
      'from "toolgate"',
      `from ${JSON.stringify(pathToFileURL(path.join(root, "src/index.ts")).href)}`,
    )
    .replace('from "zod"', `from ${JSON.stringify(import.meta.resolve("zod"))}`)
    .replace(".listen({ port: 3000 })", ".listen({ port: 0 }).then((a) => console.log(a.url))");
  const file = path.join(dir, "example.mts");
  writeFileSync(file, runnable);

  const child = spawn(process.execPath, ["--import", "tsx", file], {
    cwd: root,
    env: { ...process.env, TOOLGATE_LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const [url] = (await Promise.race([
      once(lines, "line"),
      once(child, "exit").then(() => assert.fail("the example exited before listening")),
    ])) as [string];
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    await assertReadmeExampleAnswers(url, "readme-test");
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  }
});
