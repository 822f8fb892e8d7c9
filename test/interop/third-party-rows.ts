// The calls of the matrix against unmodified third-party servers behind the gateway:
// `@modelcontextprotocol/server-everything` (prefix `everything.`; a second copy, `down.`,
// is killed to make the gateway answer `unavailable`) and
// `@modelcontextprotocol/server-filesystem` (prefix `fs.`; every tool of it declares an
// outputSchema). Their own results and tool errors pass through; the gateway adds its
// errors in front of them (policies in gateway.ts).
import path from "node:path";
import type { Expectation } from "./expect.js";
import { ADMIN_SCOPE } from "./fixtures/interop-tools.js";
import { primedBy, type Cell, type Row } from "./rows.js";

export const HELLO_TEXT = "hello from behind the gateway\n";
/** A URL nothing answers: server-everything's gzip tool fails on it with its own error. */
const DEAD_URL = "http://127.0.0.1:1/nothing-here";
const GZIP_DATA = "data:text/plain;base64,aGVsbG8gaW50ZXJvcA==";

const row = (label: string, r: Omit<Row, "label" | "endpoint">): Row => ({
  label,
  endpoint: "main",
  ...r,
});
const error = (
  type: Extract<Expectation, { kind: "error" }>["type"],
  message: RegExp,
  structured: boolean,
  /** Not in the caller's tools/list (see Expectation). */
  unlisted = false,
): Expectation => ({ kind: "error", type, message, structured, ...(unlisted ? { unlisted } : {}) });
const key = (cell: Cell) => `interop-${cell.id}`;

export function everythingRows(): Row[] {
  const gzip = "everything.gzip-file-as-resource";
  const gzipArgs = (name: string) => (cell: Cell) => ({
    name: `${cell.id}-${name}.gz`,
    data: GZIP_DATA,
    idempotency_key: key(cell),
  });
  return [
    row("echo: success (no outputSchema)", {
      tool: "everything.echo",
      args: () => ({ message: "hello interop" }),
      expect: { kind: "success", text: /Echo: hello interop/, structured: false },
    }),
    row("get-structured-content: success (outputSchema)", {
      tool: "everything.get-structured-content",
      args: () => ({ location: "Chicago" }),
      expect: { kind: "success", text: /temperature/, structured: true },
    }),
    row("echo: invalid_input (no outputSchema)", {
      tool: "everything.echo",
      args: () => ({ message: 42 }),
      expect: error("invalid_input", /./, false),
    }),
    row("get-structured-content: invalid_input (outputSchema)", {
      tool: "everything.get-structured-content",
      args: () => ({ location: "Atlantis" }),
      expect: error("invalid_input", /./, true),
    }),
    row("get-sum: forbidden by policy (no outputSchema)", {
      tool: "everything.get-sum",
      args: () => ({ a: 1, b: 2 }),
      expect: error("forbidden", new RegExp(ADMIN_SCOPE), false, true),
    }),
    row("unknown tool: not_found", {
      tool: "everything.no-such-tool",
      args: () => ({}),
      expect: error("not_found", /tools\/list/, false, true),
    }),
    row("get-tiny-image: rate_limited by policy (no outputSchema)", {
      tool: "everything.get-tiny-image",
      args: () => ({}),
      expect: error("rate_limited", /./, false),
    }),
    row("trigger-long-running-operation: timeout by policy", {
      tool: "everything.trigger-long-running-operation",
      args: () => ({ duration: 5, steps: 5 }),
      expect: error("timeout", /did not finish within \d+ ms/, false),
    }),
    row("gzip (write): conflict on key reuse (no outputSchema)", {
      tool: gzip,
      args: gzipArgs("second"),
      around: primedBy(gzipArgs("first"), gzip),
      expect: error("conflict", /already used .* with different arguments/, false),
    }),
    row("gzip (write): idempotent replay (no outputSchema)", {
      tool: gzip,
      args: gzipArgs("once"),
      around: primedBy(gzipArgs("once"), gzip),
      expect: { kind: "replay", text: /resource_link/, structured: false },
    }),
    row("gzip: its own tool error (no outputSchema)", {
      tool: gzip,
      args: (cell) => ({ name: `${cell.id}.gz`, data: DEAD_URL, idempotency_key: key(cell) }),
      expect: { kind: "tool_error", message: /fetch failed/, structured: false },
    }),
    row("upstream down: unavailable (no outputSchema)", {
      tool: "down.echo",
      args: () => ({ message: "anyone there?" }),
      expect: error("unavailable", /./, false),
    }),
    row("upstream down: unavailable (outputSchema)", {
      tool: "down.get-structured-content",
      args: () => ({ location: "Chicago" }),
      expect: error("unavailable", /./, true),
    }),
  ];
}

export function filesystemRows(): Row[] {
  const write = "fs.write_file";
  const file = (cell: Cell) => path.join(cell.filesDir, `${cell.id}.txt`);
  const writeArgs = (content: string) => (cell: Cell) => ({
    path: file(cell),
    content,
    idempotency_key: key(cell),
  });
  return [
    row("read_text_file: success (outputSchema)", {
      tool: "fs.read_text_file",
      args: (cell) => ({ path: cell.helloFile }),
      expect: { kind: "success", text: /hello from behind the gateway/, structured: true },
    }),
    row("read_text_file: invalid_input (outputSchema)", {
      tool: "fs.read_text_file",
      args: () => ({ path: 5 }),
      expect: error("invalid_input", /./, true),
    }),
    row("read_text_file: its own tool error (outputSchema)", {
      tool: "fs.read_text_file",
      args: (cell) => ({ path: path.join(cell.filesDir, `missing-${cell.id}.txt`) }),
      expect: { kind: "tool_error", message: /ENOENT|no such file/i, structured: true },
    }),
    row("list_allowed_directories: forbidden by policy (outputSchema)", {
      tool: "fs.list_allowed_directories",
      args: () => ({}),
      expect: error("forbidden", new RegExp(ADMIN_SCOPE), true, true),
    }),
    row("get_file_info: rate_limited by policy (outputSchema)", {
      tool: "fs.get_file_info",
      args: (cell) => ({ path: cell.helloFile }),
      expect: error("rate_limited", /./, true),
    }),
    row("write_file: conflict on key reuse (outputSchema)", {
      tool: write,
      args: writeArgs("second"),
      around: primedBy(writeArgs("first"), write),
      expect: error("conflict", /already used .* with different arguments/, true),
    }),
    row("write_file: idempotent replay (outputSchema)", {
      tool: write,
      args: writeArgs("once"),
      around: primedBy(writeArgs("once"), write),
      expect: { kind: "replay", text: /Successfully wrote/, structured: true },
    }),
  ];
}

/** The gateway's own row: a refused token is a 401 whatever the upstream. */
export const gatewayRefusedRow: Row = {
  label: "refused token (HTTP 401)",
  endpoint: "refused",
  tool: "everything.echo",
  args: () => ({ message: "refused" }),
  expect: { kind: "refused" },
};
