// The calls of the matrix against a toolgate server (served directly over HTTP or stdio,
// or through the gateway, whose tools carry the `tg.` prefix): a success, every error type
// of the registry on a tool with and one without an outputSchema, an idempotent replay,
// and a refused token. Each cell (row x client) gets its own keys and gate tags.
import type { CallToolResult } from "@modelcontextprotocol/client";
import { type ErrorType } from "../../src/index.js";
import { ERROR_TYPES } from "../../src/errors/index.js";
import type { Around, ClientName } from "./clients.js";
import type { Expectation } from "./expect.js";
import { gateReached, openGate } from "./fixtures/gate.js";
import { ADMIN_SCOPE, IDS, INTERNAL_SECRET, STRUCTURED_SUFFIX } from "./fixtures/interop-tools.js";

/** Which connection a row's call goes through. */
export type EndpointVariant =
  | "main"
  /** stdio without TOOLGATE_TOKEN */
  | "noToken"
  /** stdio: an expired TOOLGATE_TOKEN; HTTP: connected, then the call carries an expired token */
  | "refused";

/** A raw SDK v2 client of the harness, on the target's main endpoint (same caller as the cells). */
export interface Harness {
  call(tool: string, args: Record<string, unknown>): Promise<CallToolResult>;
}

export interface Cell {
  client: ClientName;
  /** Unique per cell: idempotency keys, gate tags and file names derive from it. */
  id: string;
  harness: Harness;
  gateDir: string;
  /** The directory server-filesystem serves, and a file in it with HELLO_TEXT. */
  filesDir: string;
  helloFile: string;
}

export interface Row {
  /** What is called, e.g. "not_found (outputSchema)". */
  label: string;
  endpoint: EndpointVariant;
  tool: string;
  args: (cell: Cell) => Record<string, unknown>;
  /** A primer around the call (see Caller.call). */
  around?: (cell: Cell, args: Record<string, unknown>) => Around;
  expect: Expectation;
}

const GATE_TIMEOUT_MS = 20_000;
const escape = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

/** The first call of the same operation, made by the harness before the cell's. */
export function primedBy(first: (cell: Cell) => Record<string, unknown>, tool: string) {
  return (cell: Cell): Around =>
    async (call) => {
      await cell.harness.call(tool, first(cell));
      return call();
    };
}

/**
 * A duplicate of a held call: the harness starts `args` and waits until its handler holds
 * at the gate; the cell's identical call meets the running operation; then the gate opens.
 */
function heldBy(tool: string) {
  return (cell: Cell, args: Record<string, unknown>): Around =>
    async (call) => {
      const first = cell.harness.call(tool, args);
      const settled = first.then(
        () => undefined,
        () => undefined,
      );
      try {
        await gateReached(cell.gateDir, String(args["hold"]), GATE_TIMEOUT_MS);
        return await call();
      } finally {
        openGate(cell.gateDir, String(args["hold"]));
        await settled;
      }
    };
}

export interface ToolgateRowsOptions {
  /** "" for the server itself, "tg." through the gateway. */
  prefix: string;
  transport: "http" | "stdio";
}

export function toolgateRows({ prefix, transport }: ToolgateRowsOptions): Row[] {
  const rows: Row[] = [];
  const key = (cell: Cell) => `interop-${cell.id}`;
  for (const structured of [false, true]) {
    const tool = (base: string) => `${prefix}${base}${structured ? STRUCTURED_SUFFIX : ""}`;
    const label = (call: string) => `${call} (${structured ? "outputSchema" : "no outputSchema"})`;
    const error = (type: ErrorType, message: RegExp, unlisted = false) =>
      ({ kind: "error", type, message, structured, ...(unlisted ? { unlisted } : {}) }) as const;
    const row = (
      call: string,
      r: Omit<Row, "label" | "endpoint"> & { endpoint?: EndpointVariant },
    ) => rows.push({ endpoint: "main", ...r, label: label(call) });
    const save = tool("save");

    row("success", {
      tool: tool("lookup"),
      args: () => ({ id: IDS.found }),
      expect: { kind: "success", text: /widget/, structured },
    });
    row("invalid_input", {
      tool: tool("lookup"),
      args: () => ({ id: 42 }),
      expect: error("invalid_input", /./),
    });
    if (transport === "stdio") {
      row("unauthenticated", {
        endpoint: "noToken",
        tool: tool("lookup"),
        args: () => ({ id: IDS.found }),
        // An unauthenticated stdio connection lists no tools.
        expect: error("unauthenticated", /access token/, true),
      });
    }
    row("forbidden: scope", {
      tool: tool("admin"),
      args: () => ({}),
      expect: error("forbidden", escape(ADMIN_SCOPE), true),
    });
    row("forbidden: handler", {
      tool: tool("lookup"),
      args: () => ({ id: IDS.forbidden }),
      expect: error("forbidden", /belongs to another account/),
    });
    row("not_found", {
      tool: tool("lookup"),
      args: () => ({ id: IDS.notFound }),
      expect: error("not_found", /No item matches ID 'ID-404'/),
    });
    row("conflict", {
      tool: save,
      args: (cell) => ({ item: cell.id, qty: 2, idempotency_key: key(cell) }),
      around: primedBy((cell) => ({ item: cell.id, qty: 1, idempotency_key: key(cell) }), save),
      expect: error("conflict", /already used .* with different arguments/),
    });
    row("in_progress", {
      tool: save,
      args: (cell) => ({ item: cell.id, qty: 1, hold: cell.id, idempotency_key: key(cell) }),
      around: heldBy(save),
      expect: error("in_progress", /still running/),
    });
    row("rate_limited", {
      tool: tool("limited"),
      args: () => ({}),
      expect: error("rate_limited", /./),
    });
    row("timeout", {
      tool: tool("slow"),
      args: () => ({}),
      expect: error("timeout", /did not finish within \d+ ms/),
    });
    row("unavailable", {
      tool: tool("lookup"),
      args: () => ({ id: IDS.unavailable }),
      expect: error("unavailable", /The warehouse service/),
    });
    row("internal", {
      tool: tool("lookup"),
      args: () => ({ id: IDS.internal }),
      expect: {
        ...error("internal", escape(ERROR_TYPES.internal.message)),
        secret: INTERNAL_SECRET,
      },
    });
    row("idempotent replay", {
      tool: save,
      args: (cell) => ({ item: cell.id, qty: 1, idempotency_key: key(cell) }),
      around: primedBy((cell) => ({ item: cell.id, qty: 1, idempotency_key: key(cell) }), save),
      expect: { kind: "replay", text: /saved/, structured },
    });
  }
  // A refused token happens before any tool: one row. Over HTTP it is a 401 for the client;
  // over stdio there is no 401, and every call answers unauthenticated.
  rows.push({
    label: transport === "http" ? "refused token (HTTP 401)" : "refused token (expired)",
    endpoint: "refused",
    tool: `${prefix}lookup`,
    args: () => ({ id: IDS.found }),
    expect:
      transport === "http"
        ? { kind: "refused" }
        : {
            kind: "error",
            type: "unauthenticated",
            message: /access token/,
            structured: false,
            unlisted: true,
          },
  });
  return rows;
}

/**
 * Through the gateway: HTTP upstreams that answer tools/call with 401 (`refusing.`) or 503
 * (`failing.`) after the gateway connected. Nothing ran there: `unavailable`, retryable.
 */
export function upstreamFailureRows(): Row[] {
  return [false, true].flatMap((structured) =>
    (
      [
        ["refusing", 401],
        ["failing", 503],
      ] as const
    ).map(([prefix, status]): Row => ({
      label: `HTTP upstream answers ${status} (${structured ? "outputSchema" : "no outputSchema"})`,
      endpoint: "main",
      tool: `${prefix}.lookup${structured ? STRUCTURED_SUFFIX : ""}`,
      args: () => ({ id: IDS.found }),
      expect: { kind: "error", type: "unavailable", message: /./, structured },
    })),
  );
}
