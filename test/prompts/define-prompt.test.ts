// definePrompt checks every option once, at startup: a bad definition is a TypeError
// naming the field; so are bad `prompts` options of createToolServer. The arguments a
// `get` receives are typed from the argument list or the zod object.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as z from "zod";
import { createToolServer, definePrompt } from "../../src/index.js";
import { silentLogger, type PromptArgs } from "../../src/server/index.js";

const get = () => "hi";

function rejects(build: () => unknown, message: RegExp): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof TypeError, `not a TypeError: ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => undefined;

describe("definePrompt", () => {
  test("list arguments: listing, and the argument types get receives", () => {
    const prompt = definePrompt({
      name: "p",
      arguments: [
        { name: "a", required: true },
        { name: "b", description: "B" },
      ],
      get: (args) => {
        expectType<Equal<typeof args, { a: string; b: string | undefined }>>(true);
        return `${args.a}${args.b ?? ""}`;
      },
    });
    assert.deepEqual(prompt.arguments, [
      { name: "a", required: true },
      { name: "b", description: "B" },
    ]);
    assert.equal(prompt.listing.description, undefined);
    assert.deepEqual(prompt.parseArgs({ a: "1" }), { ok: true, value: { a: "1" } });
    assert.equal(prompt.parseArgs({}).ok, false);
    assert.equal(prompt.parseArgs(undefined).ok, false);
  });

  test("zod arguments: listed from the schema, parsed (and transformed) by zod", () => {
    const schema = z.object({
      count: z.string().regex(/^\d+$/).transform(Number).describe("How many"),
      mode: z.enum(["a", "b"]).optional(),
    });
    const prompt = definePrompt({
      name: "z",
      arguments: schema,
      get: (args) => {
        expectType<Equal<typeof args, { count: number; mode?: "a" | "b" | undefined }>>(true);
        return String(args.count);
      },
    });
    assert.deepEqual(prompt.arguments, [
      { name: "count", description: "How many", required: true },
      { name: "mode", required: false },
    ]);
    assert.deepEqual(prompt.parseArgs({ count: "3" }), { ok: true, value: { count: 3 } });
    const failed = prompt.parseArgs({ count: "three" });
    assert.equal(failed.ok, false);
  });

  test("no arguments: get receives an empty object; extra ones are refused", () => {
    const prompt = definePrompt({ name: "n", get: () => "x" });
    expectType<Equal<PromptArgs<undefined>, Record<string, never>>>(true);
    assert.deepEqual(prompt.parseArgs(undefined), { ok: true, value: {} });
    assert.equal(prompt.parseArgs({ x: "1" }).ok, false);
    assert.equal(prompt.listing.arguments, undefined);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["no name", { name: undefined }, /Prompt 'undefined': name must be 1-128 characters/],
    ["name with a space", { name: "a b" }, /name must be 1-128 characters/],
    ["title", { title: 1 }, /Prompt 'p': title must be a string/],
    ["description", { description: 1 }, /description must be a string/],
    ["get", { get: undefined }, /get must be a function/],
    ["scopes", { scopes: [1] }, /scopes must be an array of scope names/],
    ["timeoutMs", { timeoutMs: 1.5 }, /timeoutMs must be a positive integer/],
    ["typo", { argument: [] }, /unknown option 'argument'/],
    ["arguments type", { arguments: "a" }, /arguments must be a zod object or an array/],
    ["argument entry", { arguments: ["a"] }, /arguments\[0\] must be an object/],
    ["argument name", { arguments: [{ name: "" }] }, /arguments\[0\].name is required/],
    [
      "argument required",
      { arguments: [{ name: "a", required: "yes" }] },
      /required must be true or false/,
    ],
    ["argument typo", { arguments: [{ name: "a", requried: true }] }, /unknown option 'requried'/],
    [
      "duplicate argument",
      { arguments: [{ name: "a" }, { name: "a" }] },
      /argument 'a' is listed twice/,
    ],
    ["zod not an object", { arguments: z.string() }, /arguments must be a zod object/],
    [
      "zod non-string argument",
      { arguments: z.object({ n: z.number() }) },
      /argument 'n' must be a string schema/,
    ],
    [
      "complete key",
      { arguments: [{ name: "a" }], complete: { b: () => [] } },
      /complete.b names no argument \(arguments: a\)/,
    ],
    [
      "complete without arguments",
      { complete: { b: () => [] } },
      /complete.b names no argument \(arguments: none\)/,
    ],
  ];
  for (const [what, change, message] of bad) {
    test(`rejects ${what}`, () => {
      rejects(() => definePrompt({ name: "p", get, ...change }), message);
    });
  }
});

describe("createToolServer: prompts", () => {
  const create = (prompts: unknown) =>
    createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [],
      logger: silentLogger(),
      audit: false,
      prompts: prompts as never,
    });

  test("rejects what is not an array of definitions, and duplicate names", () => {
    rejects(() => create("p"), /prompts must be an array of definePrompt/);
    rejects(() => create([{ name: "p", get }]), /prompts\[0\] was not built with definePrompt/);
    rejects(
      () => create([definePrompt({ name: "p", get }), definePrompt({ name: "p", get })]),
      /Two prompts are named 'p'/,
    );
  });
});
