// resources/read, prompts/get and completion/complete are adapters of the one pipeline
// (architecture page, "One pipeline, thin adapters"): a stage list of the server's own sees
// them (telling them apart by `ctx.kind`), the deadline is resolveTool's, a scope refusal
// is authorize's, and each is audited under an operation name no tool can have. Real SDK
// clients over HTTP on 127.0.0.1.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createToolServer, defineResource, devIssuer, type DevIssuer } from "../../src/index.js";
import {
  authorize,
  defaultStages,
  execute,
  mapErrors,
  requestId,
  resolveTool,
  validateInput,
  validateOutput,
  type Stage,
} from "../../src/pipeline/index.js";
import type { AuditEvent, AuditSink } from "../../src/audit/index.js";
import { readWireError } from "../../src/errors/to-result.js";
import {
  CLIENT_MODES,
  connectClient,
  connectClientWithHeaders,
  startServer,
  type RunningServer,
} from "../helpers/server.js";
import {
  SECRET_SCOPE,
  createPrompts,
  createResources,
  createTemplates,
  rpcError,
} from "./definitions.js";

interface Seen {
  readonly kind: string;
  readonly toolName: string;
  readonly label: string | undefined;
  /** The error type of the result the stage saw, or "ok". */
  readonly outcome: string;
}

/** A stage of the user's own: records every call it sees and what it was answered. */
function spy(seen: Seen[]): Stage {
  return async (ctx, next) => {
    const result = await next();
    seen.push({
      kind: ctx.kind ?? "tool",
      toolName: ctx.toolName,
      label: ctx.label,
      outcome: readWireError(result)?.type ?? "ok",
    });
    return result;
  };
}

const HANG_MS = 120;
/** A resource without its own timeoutMs, whose read never settles unless aborted. */
const hanging = defineResource({
  uri: "test://hangs",
  name: "hangs",
  read: (ctx) =>
    new Promise<string>((_resolve, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), {
        once: true,
      }),
    ),
});

describe("a server's own stage list sees resources, prompts and completions", () => {
  const seen: Seen[] = [];
  const events: AuditEvent[] = [];
  let running: RunningServer;

  before(async () => {
    const sink: AuditSink = {
      name: "memory",
      write: (batch) => {
        events.push(...batch);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const stages = defaultStages({
      idempotency: false,
      rateLimit: false,
      defaultTimeoutMs: HANG_MS,
    });
    running = await startServer([], {
      resources: [...createResources(), hanging],
      resourceTemplates: createTemplates(),
      prompts: createPrompts(),
      // requestId, then the spy around everything else (mapErrors included).
      stages: [stages[0]!, spy(seen), ...stages.slice(1)],
      audit: { sinks: [sink], flushIntervalMs: 10 },
    });
  });

  after(async () => {
    await running?.close();
  });

  for (const mode of CLIENT_MODES) {
    test(`${mode} client: a read, a template read, a get and a completion pass the stage`, async () => {
      const connected = await connectClient(running.url, mode);
      try {
        const from = seen.length;
        await connected.client.readResource({ uri: "test://static-text" });
        await connected.client.readResource({ uri: "test://template/7/data" });
        await connected.client.getPrompt({
          name: "test_prompt_with_arguments",
          arguments: { arg1: "a", arg2: "b" },
        });
        await connected.client.complete({
          ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
          argument: { name: "arg1", value: "pa" },
        });
        assert.deepEqual(seen.slice(from), [
          {
            kind: "resource",
            toolName: "resource:test://static-text",
            label: "Resource test://static-text",
            outcome: "ok",
          },
          {
            kind: "resource",
            toolName: "resource-template:test://template/{id}/data",
            label: "Resource test://template/7/data",
            outcome: "ok",
          },
          {
            kind: "prompt",
            toolName: "prompt:test_prompt_with_arguments",
            label: "Prompt 'test_prompt_with_arguments'",
            outcome: "ok",
          },
          {
            kind: "completion",
            toolName: "completion:prompt:test_prompt_with_arguments",
            label: "Prompt 'test_prompt_with_arguments'",
            outcome: "ok",
          },
        ]);
      } finally {
        await connected.close();
      }
    });
  }

  test("prompt argument errors are validateInput's, in the prompt's words", async () => {
    const connected = await connectClient(running.url, "legacy");
    try {
      const from = seen.length;
      const error = await rpcError(
        connected.client.getPrompt({
          name: "test_prompt_with_arguments",
          arguments: { arg1: "x" },
        }),
      );
      assert.equal(error.code, -32602);
      assert.match(error.message, /needs the argument\(s\) arg2/);
      assert.equal(seen.slice(from)[0]?.outcome, "invalid_input");
    } finally {
      await connected.close();
    }
  });

  test("a read past the pipeline's default deadline is the pipeline's timeout", async () => {
    const connected = await connectClient(running.url, "legacy");
    try {
      const from = seen.length;
      const started = performance.now();
      const error = await rpcError(connected.client.readResource({ uri: "test://hangs" }));
      assert.ok(performance.now() - started < HANG_MS + 2_000);
      assert.equal(error.code, -32603);
      // resolveTool fixed the deadline (defaultStages' defaultTimeoutMs); execute raced it.
      assert.match(
        error.message,
        new RegExp(`^Resource test://hangs did not finish within ${HANG_MS} ms`),
      );
      assert.deepEqual(error.data, { type: "timeout", retryable: true });
      assert.deepEqual(seen.slice(from), [
        {
          kind: "resource",
          toolName: "resource:test://hangs",
          label: "Resource test://hangs",
          outcome: "timeout",
        },
      ]);
    } finally {
      await connected.close();
    }
  });

  test("every read and get is audited under its operation's name", async () => {
    const connected = await connectClient(running.url, "legacy");
    try {
      await connected.client.readResource({ uri: "test://template/42/data" });
      await rpcError(connected.client.getPrompt({ name: "broken_prompt" }));
    } finally {
      await connected.close();
    }
    for (let i = 0; i < 100 && !events.some((e) => e.tool === "prompt:broken_prompt"); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const read = events.find(
      (e) =>
        e.tool === "resource-template:test://template/{id}/data" &&
        JSON.stringify(e.arguments) === JSON.stringify({ uri: "test://template/42/data" }),
    );
    assert.ok(read, "the template read is audited, its URI as the argument");
    assert.equal(read.outcome, "ok");
    const get = events.find((e) => e.tool === "prompt:broken_prompt");
    assert.ok(get, "the failing get is audited");
    assert.equal(get.outcome, "internal");
  });
});

describe("scopes of resources are enforced by the authorize stage", () => {
  let dir: string;
  let issuer: DevIssuer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-resources-pipeline-"));
    issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a refusal is authorize's: stages after it never see the read", async () => {
    const outside: Seen[] = [];
    const inside: Seen[] = [];
    const running = await startServer([], {
      auth: issuer.verifier(),
      resources: createResources(),
      audit: false,
      stages: [
        requestId(),
        spy(outside),
        mapErrors(),
        resolveTool(),
        authorize({ requireAuthentication: true }),
        spy(inside),
        validateInput(),
        validateOutput(),
        execute(),
      ],
    });
    try {
      const token = await issuer.mint({ sub: "alice", scope: [], audience: running.address.url });
      const connected = await connectClientWithHeaders(running.url, "legacy", {
        authorization: `Bearer ${token}`,
      });
      try {
        const error = await rpcError(connected.client.readResource({ uri: "test://secret" }));
        assert.equal(error.code, -32600);
        assert.match(error.message, /^Resource test:\/\/secret needs the scope\(s\) secrets:read/);
        assert.deepEqual(error.data, { type: "forbidden", requiredScopes: [SECRET_SCOPE] });
        assert.deepEqual(
          outside.map((s) => [s.toolName, s.outcome]),
          [["resource:test://secret", "forbidden"]],
        );
        assert.equal(inside.length, 0);
        await connected.client.readResource({ uri: "test://static-text" });
        assert.deepEqual(
          inside.map((s) => s.toolName),
          ["resource:test://static-text"],
        );
      } finally {
        await connected.close();
      }
    } finally {
      await running.close();
    }
  });

  test("a stage list that cannot enforce a resource's scopes refuses to start", () => {
    assert.throws(
      () =>
        createToolServer({
          name: "no-authorize",
          version: "0.0.1",
          tools: [],
          auth: issuer.verifier(),
          resources: createResources(),
          audit: false,
          stages: [requestId(), mapErrors(), resolveTool(), validateInput(), execute()],
        }),
      /Resource or prompt 'resource:test:\/\/secret' declares scopes/,
    );
  });
});

describe("the server's budgets count resource reads", () => {
  test("a third read past a 2/min per-caller budget is refused as rate_limited", async () => {
    // The default list and store (SQLite in the test's data directory): nothing custom.
    const running = await startServer([], {
      resources: createResources(),
      rateLimit: { perPrincipal: "2/min" },
      audit: false,
    });
    try {
      const connected = await connectClient(running.url, CLIENT_MODES[0]!);
      try {
        await connected.client.readResource({ uri: "test://static-text" });
        await connected.client.readResource({ uri: "test://static-text" });
        const error = await rpcError(connected.client.readResource({ uri: "test://static-text" }));
        const data = error.data as { type?: unknown; retryable?: unknown; retryAfterMs?: unknown };
        assert.equal(data.type, "rate_limited");
        assert.equal(data.retryable, true);
        assert.ok(typeof data.retryAfterMs === "number" && data.retryAfterMs > 0);
      } finally {
        await connected.close();
      }
    } finally {
      await running.close();
    }
  });
});
