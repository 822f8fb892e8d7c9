import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  ToolError,
  conflict,
  forbidden,
  inProgress,
  invalidInput,
  notFound,
  rateLimited,
  timeout,
  unauthenticated,
  unavailable,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import {
  ERROR_TYPES,
  ERROR_TYPE_NAMES,
  isErrorType,
  toErrorResult,
} from "../../src/errors/index.js";
import type { ErrorType } from "../../src/index.js";
import { errorResultForTool, readWireError, toToolError } from "../../src/errors/to-result.js";
import { memoryLogger } from "./helpers/memory-logger.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("error registry", () => {
  it("gives every type a retryable flag, an HTTP status and a default message", () => {
    assert.ok(ERROR_TYPE_NAMES.length > 0);
    for (const type of ERROR_TYPE_NAMES) {
      const entry = ERROR_TYPES[type];
      assert.equal(typeof entry.retryable, "boolean", type);
      assert.ok(Number.isInteger(entry.httpStatus) && entry.httpStatus >= 400, type);
      assert.ok(entry.message.trim().length > 10, `${type} has a real default message`);
      assert.equal(isErrorType(type), true);
    }
    assert.deepEqual([...ERROR_TYPE_NAMES].sort(), Object.keys(ERROR_TYPES).sort());
  });

  it("marks exactly in_progress, rate_limited, timeout and unavailable as retryable", () => {
    const retryable = ERROR_TYPE_NAMES.filter((type) => ERROR_TYPES[type].retryable).sort();
    assert.deepEqual(retryable, ["in_progress", "rate_limited", "timeout", "unavailable"]);
  });

  it("knows only its own types", () => {
    for (const value of ["", "oops", "toString", "__proto__", 404, null, undefined]) {
      assert.equal(isErrorType(value), false, String(value));
    }
  });
});

describe("ToolError", () => {
  it("can be built for every type, with the registry's flag and default message", () => {
    for (const type of ERROR_TYPE_NAMES) {
      const error = new ToolError(type);
      assert.ok(error instanceof Error);
      assert.equal(error.type, type);
      assert.equal(error.retryable, ERROR_TYPES[type].retryable);
      assert.equal(error.message, ERROR_TYPES[type].message);
    }
  });

  it("rejects an unknown type with a TypeError", () => {
    assert.throws(() => new ToolError("teapot" as ErrorType), {
      name: "TypeError",
      message: /Unknown error type 'teapot'/,
    });
  });

  it("rejects a negative or non-numeric retryAfterMs with a TypeError", () => {
    for (const retryAfterMs of [-1, -0.5, Number.NaN]) {
      assert.throws(() => new ToolError("rate_limited", "slow down", { retryAfterMs }), {
        name: "TypeError",
        message: /retryAfterMs/,
      });
    }
    assert.equal(new ToolError("rate_limited", "x", { retryAfterMs: 0 }).retryAfterMs, 0);
    assert.equal(new ToolError("rate_limited", "x", { retryAfterMs: 1.2 }).retryAfterMs, 2);
  });
});

describe("typed helpers", () => {
  const issues = [{ path: "/qty", message: "must be >= 1" }];
  const cases: [string, ToolError, ErrorType, boolean, Record<string, unknown> | undefined][] = [
    ["invalidInput", invalidInput("bad qty", issues), "invalid_input", false, { issues }],
    [
      "forbidden",
      forbidden("no", ["refunds:write"]),
      "forbidden",
      false,
      { requiredScopes: ["refunds:write"] },
    ],
    ["notFound", notFound("no order INV-1"), "not_found", false, undefined],
    [
      "conflict",
      conflict("already refunded", { orderId: "INV-1" }),
      "conflict",
      false,
      { orderId: "INV-1" },
    ],
    ["inProgress", inProgress(), "in_progress", true, undefined],
    ["rateLimited", rateLimited(undefined, 2500), "rate_limited", true, undefined],
    ["timeout", timeout(), "timeout", true, undefined],
    [
      "unavailable",
      unavailable("db down", 500, new Error("ECONNREFUSED")),
      "unavailable",
      true,
      undefined,
    ],
    ["unauthenticated", unauthenticated(), "unauthenticated", false, undefined],
  ];
  for (const [helper, error, type, retryable, details] of cases) {
    it(`${helper}() makes a ${type} error`, () => {
      assert.ok(error instanceof ToolError);
      assert.equal(error.type, type);
      assert.equal(error.retryable, retryable);
      assert.deepEqual(error.details, details);
    });
  }

  it("carries messages, retry hints and causes", () => {
    assert.equal(notFound("no order INV-1").message, "no order INV-1");
    assert.equal(inProgress().retryAfterMs, 1000);
    assert.equal(rateLimited(undefined, 2500).retryAfterMs, 2500);
    assert.equal(rateLimited().retryAfterMs, undefined);
    assert.equal(forbidden().message, ERROR_TYPES.forbidden.message);
    assert.equal(forbidden().details, undefined);
    assert.equal(invalidInput("x").details, undefined);
    const cause = new Error("ECONNREFUSED");
    assert.equal(unavailable("db down", 500, cause).cause, cause);
    assert.equal(unavailable("db down", 500, cause).retryAfterMs, 500);
  });
});

describe("toErrorResult", () => {
  it("builds exactly the contract's shape, with no absent optional fields", () => {
    const result = toErrorResult(notFound("No order matches ID 'INV-99'."));
    const structuredContent = {
      error: { type: "not_found", message: "No order matches ID 'INV-99'.", retryable: false },
    };
    assert.deepEqual(result, {
      isError: true,
      content: [{ type: "text", text: JSON.stringify(structuredContent) }],
      structuredContent,
      _meta: { "toolgate/error": structuredContent.error },
    });
    const wire = (result.structuredContent as { error: object }).error;
    assert.deepEqual(Object.keys(wire), ["type", "message", "retryable"]);
  });

  it("leaves structuredContent out for tools with an outputSchema; the error stays in _meta and text", () => {
    const result = toErrorResult(notFound("No order matches ID 'INV-99'."), { structured: false });
    const error = { type: "not_found", message: "No order matches ID 'INV-99'.", retryable: false };
    assert.deepEqual(result, {
      isError: true,
      content: [{ type: "text", text: JSON.stringify({ error }) }],
      _meta: { "toolgate/error": error },
    });
    assert.deepEqual(readWireError(result), error);
  });

  it("readWireError reads _meta, then structuredContent, then the text; untyped errors are undefined", () => {
    const wire = (type: string) => ({ type, message: type, retryable: false });
    const both = {
      isError: true,
      content: [{ type: "text" as const, text: JSON.stringify({ error: wire("conflict") }) }],
      structuredContent: { error: wire("not_found") },
      _meta: { "toolgate/error": wire("invalid_input") },
    };
    assert.equal(readWireError(both)?.type, "invalid_input");
    const { _meta: _m, ...noMeta } = both;
    assert.equal(readWireError(noMeta)?.type, "not_found");
    const { structuredContent: _s, ...textOnly } = noMeta;
    assert.equal(readWireError(textOnly)?.type, "conflict");
    assert.equal(readWireError({ ...textOnly, isError: false }), undefined, "a success has none");
    const plain = {
      isError: true,
      content: [{ type: "text" as const, text: "ENOENT: no such file" }],
    };
    assert.equal(readWireError(plain), undefined);
    const unknownType = { isError: true, content: [], _meta: { "toolgate/error": wire("boom") } };
    assert.equal(readWireError(unknownType), undefined, "only the registry's types");
  });

  it("errorResultForTool drops structuredContent from errors of outputSchema tools only", () => {
    const failed = toErrorResult(notFound("gone"));
    const shaped = errorResultForTool(failed, { outputSchema: { type: "object" } });
    assert.equal(shaped.structuredContent, undefined);
    assert.deepEqual(readWireError(shaped), readWireError(failed));
    assert.equal(errorResultForTool(failed, { outputSchema: undefined }), failed);
    const ok = { content: [], structuredContent: { a: 1 } };
    assert.equal(errorResultForTool(ok, { outputSchema: { type: "object" } }), ok);
    // An upstream's untyped structured error keeps its data, as text.
    const upstream = { isError: true, content: [], structuredContent: { code: "E1" } };
    const moved = errorResultForTool(upstream, { outputSchema: { type: "object" } });
    assert.equal(moved.structuredContent, undefined);
    assert.deepEqual(moved.content, [{ type: "text", text: '{"code":"E1"}' }]);
  });

  it("includes retryAfterMs, details and incidentId when present", () => {
    const error = new ToolError("rate_limited", "Too many calls.", {
      retryAfterMs: 1500,
      details: { limit: 10 },
      incidentId: "inc-1",
      cause: new Error("secret cause"),
    });
    const result = toErrorResult(error);
    const structuredContent = {
      error: {
        type: "rate_limited",
        message: "Too many calls.",
        retryable: true,
        retryAfterMs: 1500,
        details: { limit: 10 },
        incidentId: "inc-1",
      },
    };
    assert.deepEqual(result.structuredContent, structuredContent);
    assert.deepEqual(result.content, [{ type: "text", text: JSON.stringify(structuredContent) }]);
    assert.deepEqual(result._meta, { "toolgate/error": structuredContent.error });
    assert.doesNotMatch(JSON.stringify(result), /secret cause/);
  });
});

describe("toToolError", () => {
  it("passes a ToolError through unchanged", () => {
    const error = conflict("already refunded");
    assert.equal(toToolError(error, silentLogger()), error);
  });

  it("logs the cause of a ToolError without sending it", () => {
    const { log, lines } = memoryLogger();
    const error = unavailable(
      "The payments service is down.",
      undefined,
      new Error("ECONNREFUSED 10.0.0.7"),
    );
    assert.equal(toToolError(error, log), error);
    assert.match(JSON.stringify(lines()), /ECONNREFUSED 10\.0\.0\.7/);
    assert.doesNotMatch(JSON.stringify(toErrorResult(error)), /10\.0\.0\.7/);
  });

  const secret = "ENOENT: open '/srv/app/config/db.json' password=hunter2";
  const thrownValues: [string, unknown, RegExp | undefined][] = [
    ["an Error with a stack and a file path", new Error(secret), /hunter2/],
    ["a thrown string", secret, /hunter2/],
    ["undefined", undefined, undefined],
  ];
  for (const [label, thrown, logged] of thrownValues) {
    it(`turns ${label} into internal with an incident id, and logs the real cause`, () => {
      const { log, lines } = memoryLogger();
      const error = toToolError(thrown, log, { tool: "refund" });
      assert.equal(error.type, "internal");
      assert.equal(error.retryable, false);
      assert.match(error.incidentId ?? "", UUID);
      assert.equal(error.message, ERROR_TYPES.internal.message);

      const wire = JSON.stringify(toErrorResult(error));
      for (const leak of ["hunter2", "/srv/app", "ENOENT", "db.json", "    at "]) {
        assert.ok(!wire.includes(leak), `result leaks ${JSON.stringify(leak)}`);
      }

      const entry = lines().find((line) => line["incidentId"] === error.incidentId);
      assert.ok(entry, "the cause is logged under the same incidentId");
      assert.equal(entry["level"], 50);
      assert.equal(entry["tool"], "refund");
      if (logged) assert.match(JSON.stringify(entry["err"]), logged);
      if (thrown instanceof Error) {
        assert.match(String((entry["err"] as { stack?: unknown }).stack), /errors\.test\.ts/);
      }
    });
  }

  it("gives every incident its own id", () => {
    const a = toToolError(new Error("a"), silentLogger());
    const b = toToolError(new Error("a"), silentLogger());
    assert.notEqual(a.incidentId, b.incidentId);
  });
});

// The README's overview table and the error page's table: both are what users read.
for (const page of ["README.md", "docs/errors.md"]) {
  describe(page, () => {
    const pagePath = fileURLToPath(new URL(`../../${page}`, import.meta.url));

    it("documents every error type in a table row with its retryable flag", () => {
      assert.ok(existsSync(pagePath), `${page} is missing at ${pagePath}`);
      const rows = readFileSync(pagePath, "utf8")
        .split("\n")
        .filter((line) => line.trim().startsWith("|"))
        .map((line) =>
          line
            .trim()
            .replace(/^\||\|$/g, "")
            .split("|")
            .map((cell) => cell.trim()),
        );
      for (const type of ERROR_TYPE_NAMES) {
        const row = rows.find((cells) => cells[0] === `\`${type}\``);
        assert.ok(row, `${page} has no table row for \`${type}\``);
        const flag = row.find((cell) => cell === "true" || cell === "false");
        assert.equal(
          flag,
          String(ERROR_TYPES[type].retryable),
          `retryable flag of ${type} in ${page}`,
        );
      }
    });
  });
}
