// Prompts over real HTTP on 127.0.0.1 with the official SDK client, in both protocol
// eras: listing (list and zod arguments), getting with arguments, embedded resources and
// images, argument errors, failing prompts without leaking the cause, and completion.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  assertNoLeak,
  connectClient,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import { memoryLogger } from "../unit/helpers/memory-logger.js";
import {
  CAUSE_SECRET,
  PNG_BASE64,
  createPrompts,
  createResources,
  createTemplates,
  rpcError,
} from "../resources/definitions.js";

const logs = memoryLogger();
let running: RunningServer;

before(async () => {
  running = await startServer([], {
    prompts: createPrompts(),
    resources: createResources(),
    resourceTemplates: createTemplates(),
    audit: false,
    logger: logs.log,
  });
});

after(async () => {
  await running?.close();
});

for (const mode of CLIENT_MODES) {
  describe(`prompts over HTTP, ${mode} client`, () => {
    let connected: ConnectedClient;

    before(async () => {
      connected = await connectClient(running.url, mode);
      assert.equal(connected.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
    });

    after(async () => {
      await connected?.close();
    });

    test("prompts/list: names, descriptions, arguments from a list and from zod", async () => {
      const { prompts } = await connected.client.listPrompts();
      const byName = new Map(prompts.map((p) => [p.name, p]));
      assert.deepEqual(byName.get("test_simple_prompt"), {
        name: "test_simple_prompt",
        description: "A simple prompt without arguments.",
        _meta: { "toolgate/scopes": [] },
      });
      assert.deepEqual(byName.get("test_prompt_with_arguments")?.arguments, [
        { name: "arg1", description: "First test argument", required: true },
        { name: "arg2", description: "Second test argument", required: true },
      ]);
      const review = byName.get("review");
      assert.equal(review?.title, "Review");
      assert.deepEqual(review?.arguments, [
        { name: "topic", description: "What to review", required: true },
        { name: "tone", required: false },
      ]);
      for (const prompt of prompts) assert.equal(typeof prompt.description, "string");
    });

    test("gets a simple prompt (a string is one user text message)", async () => {
      const result = await connected.client.getPrompt({ name: "test_simple_prompt" });
      assert.equal(result.description, "A simple prompt without arguments.");
      assert.deepEqual(result.messages, [
        { role: "user", content: { type: "text", text: "This is a simple prompt for testing." } },
      ]);
    });

    test("gets a prompt with its arguments substituted", async () => {
      const result = await connected.client.getPrompt({
        name: "test_prompt_with_arguments",
        arguments: { arg1: "hello", arg2: "world" },
      });
      assert.deepEqual(result.messages, [
        {
          role: "user",
          content: { type: "text", text: "Prompt with arguments: arg1='hello', arg2='world'" },
        },
      ]);
    });

    test("embedded resource and image content", async () => {
      const embedded = await connected.client.getPrompt({
        name: "test_prompt_with_embedded_resource",
        arguments: { resourceUri: "test://example-resource" },
      });
      assert.deepEqual(embedded.messages[0]?.content, {
        type: "resource",
        resource: {
          uri: "test://example-resource",
          mimeType: "text/plain",
          text: "Embedded resource content for testing.",
        },
      });
      const image = await connected.client.getPrompt({ name: "test_prompt_with_image" });
      assert.deepEqual(image.messages[0]?.content, {
        type: "image",
        data: PNG_BASE64,
        mimeType: "image/png",
      });
      assert.equal(image.messages[1]?.content.type, "text");
    });

    test("zod arguments are parsed; get may set the description", async () => {
      const result = await connected.client.getPrompt({
        name: "review",
        arguments: { topic: "the refunds API", tone: "casual" },
      });
      assert.equal(result.description, "Review of the refunds API");
      assert.deepEqual(result.messages[0]?.content, {
        type: "text",
        text: "Review the refunds API (casual)",
      });
    });

    test("argument errors are Invalid Params that say what is wrong", async () => {
      const cases: [string, Record<string, string>, RegExp][] = [
        ["nope", {}, /^Unknown prompt 'nope'\.$/],
        ["test_prompt_with_arguments", { arg1: "x" }, /needs the argument\(s\) arg2/],
        ["test_simple_prompt", { extra: "1" }, /has no argument\(s\) extra; it takes none/],
        [
          "test_prompt_with_arguments",
          { arg1: "a", arg2: "b", arg3: "c" },
          /arguments: arg1, arg2/,
        ],
        ["review", { topic: "ab" }, /Invalid arguments for prompt 'review': topic: /],
        ["review", { topic: "abc", tone: "angry" }, /tone: /],
      ];
      for (const [name, args, message] of cases) {
        const error = await rpcError(connected.client.getPrompt({ name, arguments: args }));
        assert.equal(error.code, -32602, `${name}: ${error.message}`);
        assert.match(error.message, message);
      }
      const zod = await rpcError(
        connected.client.getPrompt({ name: "review", arguments: { topic: "ab" } }),
      );
      assert.deepEqual(
        (zod.data as { issues: { argument: string }[] }).issues[0]?.argument,
        "topic",
      );
    });

    test("a failing or malformed prompt is an internal error without its cause", async () => {
      for (const name of ["broken_prompt", "bad_messages"]) {
        const error = await rpcError(connected.client.getPrompt({ name }));
        assert.equal(error.code, -32603);
        assert.match(error.message, new RegExp(`^Prompt '${name}' failed unexpectedly`));
        const { incidentId } = error.data as { incidentId: string };
        assertNoLeak({ message: error.message, data: error.data }, CAUSE_SECRET);
        const logged = logs.lines().find((line) => line["incidentId"] === incidentId);
        assert.ok(logged, `${name}: the cause is logged under the incident id`);
        assert.equal(logged["prompt"], name);
      }
    });

    test("completes a prompt argument, with the other arguments as context", async () => {
      const ref = { type: "ref/prompt" as const, name: "test_prompt_with_arguments" };
      const result = await connected.client.complete({
        ref,
        argument: { name: "arg1", value: "par" },
      });
      assert.deepEqual(result.completion, {
        values: ["paris", "park", "party"],
        total: 3,
        hasMore: false,
      });
      const withContext = await connected.client.complete({
        ref,
        argument: { name: "arg1", value: "par" },
        context: { arguments: { arg2: "park" } },
      });
      assert.deepEqual(withContext.completion.values, ["paris", "party"]);
      const zod = await connected.client.complete({
        ref: { type: "ref/prompt", name: "review" },
        argument: { name: "tone", value: "f" },
      });
      assert.deepEqual(zod.completion.values, ["formal"]);
    });

    test("completion returns at most 100 values, with total and hasMore", async () => {
      const result = await connected.client.complete({
        ref: { type: "ref/prompt", name: "many" },
        argument: { name: "n", value: "" },
      });
      assert.equal(result.completion.values.length, 100);
      assert.equal(result.completion.values[0], "v0");
      assert.equal(result.completion.total, 150);
      assert.equal(result.completion.hasMore, true);
    });

    test("completion: no completer -> no values; unknown prompt -> Invalid Params", async () => {
      const none = await connected.client.complete({
        ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
        argument: { name: "arg2", value: "x" },
      });
      assert.deepEqual(none.completion, { values: [], total: 0, hasMore: false });
      const error = await rpcError(
        connected.client.complete({
          ref: { type: "ref/prompt", name: "nope" },
          argument: { name: "a", value: "" },
        }),
      );
      assert.equal(error.code, -32602);
      assert.match(error.message, /Unknown prompt 'nope'/);
    });
  });
}

describe("a server with prompts only", () => {
  test("declares prompts and completions, not resources", async () => {
    const server = await startServer([], { audit: false, prompts: createPrompts() });
    const connected = await connectClient(server.url, "legacy");
    try {
      const capabilities = connected.client.getServerCapabilities();
      assert.deepEqual(capabilities?.prompts, { listChanged: false });
      assert.deepEqual(capabilities?.completions, {});
      assert.equal(capabilities?.resources, undefined);
      const error = await rpcError(
        connected.client.complete({
          ref: { type: "ref/resource", uri: "test://template/{id}/data" },
          argument: { name: "id", value: "" },
        }),
      );
      assert.equal(error.code, -32602);
    } finally {
      await connected.close();
      await server.close();
    }
  });
});
