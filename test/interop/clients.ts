// The matrix's four clients, each asked to make one tools/call and to report what a host
// would hand the model: the SDK v1 and v2 `callTool` results (or what they threw), the MCP
// Inspector CLI's stdout JSON (or its error envelope), and the client kit's ToolCallResult.
// Hosts list tools before calling them, so the SDK clients do too (the SDK v1 client
// validates structuredContent against the output schemas it learned there).
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1Stdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as V1Http } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Http,
} from "@modelcontextprotocol/client";
import { StdioClientTransport as V2Stdio } from "@modelcontextprotocol/client/stdio";
import { createToolClient, type ToolCallResult } from "../../src/client/index.js";
import { runInspector } from "../helpers/process.js";
import type { Limiter } from "./limiter.js";

export type ClientName = "inspector" | "sdk1" | "sdk2" | "kit";
export const CLIENTS: readonly ClientName[] = ["inspector", "sdk1", "sdk2", "kit"];
export const CLIENT_TITLES: Readonly<Record<ClientName, string>> = {
  inspector: "Inspector CLI",
  sdk1: "SDK v1",
  sdk2: "SDK v2",
  kit: "client kit",
};

/** What one client made of one call. */
export type Seen =
  /** A tools/call result, as the SDK returned it or the Inspector printed it. */
  | { kind: "result"; result: Record<string, unknown> }
  | { kind: "kit"; outcome: ToolCallResult }
  /** The client threw: the model gets no tool result at all. */
  | { kind: "thrown"; message: string; status?: number }
  /** The Inspector printed an error envelope instead of a result. */
  | { kind: "cli"; exitCode: number | null; code?: string; message: string };

/** How to reach a server: over HTTP with a bearer token, or a stdio command. */
export type Endpoint =
  | {
      kind: "http";
      url: string;
      token: string;
      /** Sent instead of `token` on the call itself (after connecting): a refused token. */
      callToken?: string;
    }
  | { kind: "stdio"; command: string; args: readonly string[]; env: Record<string, string> };

export type Around = (call: () => Promise<Seen>) => Promise<Seen>;

export interface Caller {
  /**
   * Makes the call, through `around` when given: a row's primer (a first call whose state
   * this one meets) wraps the call, inside the Inspector's concurrency slot, so a held
   * primer waits no longer than the call it is for.
   */
  call(tool: string, args: Record<string, unknown>, around?: Around): Promise<Seen>;
  close(): Promise<void>;
}

// Generous: a stdio server starts under tsx, on two cores shared with the Inspector runs.
const CONNECT_TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 60_000;
const INSPECTOR_TIMEOUT_MS = 180_000;
const CLIENT_INFO = { name: "toolgate-interop", version: "1.0.0" };

function describeThrown(error: unknown): Seen {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  const data = (e as { data?: unknown }).data as { status?: unknown } | undefined;
  const status =
    typeof data?.status === "number" ? data.status : typeof code === "number" ? code : undefined;
  return { kind: "thrown", message: e.message, ...(status === undefined ? {} : { status }) };
}

/** A mutable bearer token: connect with one, call with another. */
interface TokenRef {
  current: string;
}

async function openSdk1(endpoint: Endpoint): Promise<Caller> {
  const client = new V1Client(CLIENT_INFO);
  const ref: TokenRef = { current: endpoint.kind === "http" ? endpoint.token : "" };
  const transport =
    endpoint.kind === "http"
      ? new V1Http(new URL(endpoint.url), {
          fetch: (input, init) => {
            const headers = new Headers(init?.headers);
            headers.set("authorization", `Bearer ${ref.current}`);
            return fetch(input, { ...init, headers });
          },
        })
      : new V1Stdio({
          command: endpoint.command,
          args: [...endpoint.args],
          env: endpoint.env,
          stderr: "ignore",
        });
  await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  await client.listTools(undefined, { timeout: CALL_TIMEOUT_MS });
  if (endpoint.kind === "http" && endpoint.callToken) ref.current = endpoint.callToken;
  return {
    call: (tool, args, around = (call) => call()) =>
      around(async () => {
        try {
          const result = await client.callTool({ name: tool, arguments: args }, undefined, {
            timeout: CALL_TIMEOUT_MS,
          });
          return { kind: "result", result };
        } catch (error) {
          return describeThrown(error);
        }
      }),
    close: () => client.close(),
  };
}

/** An SDK v2 client, connected and with its tools listed (the SDK v2 column and the kit's). */
export async function connectSdk2(endpoint: Endpoint): Promise<V2Client> {
  const client = new V2Client(CLIENT_INFO);
  const ref: TokenRef = { current: endpoint.kind === "http" ? endpoint.token : "" };
  const transport =
    endpoint.kind === "http"
      ? new V2Http(new URL(endpoint.url), {
          authProvider: { token: () => Promise.resolve(ref.current) },
        })
      : new V2Stdio({
          command: endpoint.command,
          args: [...endpoint.args],
          env: endpoint.env,
          stderr: "ignore",
        });
  await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  await client.listTools(undefined, { timeout: CALL_TIMEOUT_MS });
  if (endpoint.kind === "http" && endpoint.callToken) ref.current = endpoint.callToken;
  return client;
}

function sdk2Caller(client: V2Client, close: boolean): Caller {
  return {
    call: (tool, args, around = (call) => call()) =>
      around(async () => {
        try {
          const result = await client.callTool(
            { name: tool, arguments: args },
            { timeout: CALL_TIMEOUT_MS },
          );
          return { kind: "result", result };
        } catch (error) {
          return describeThrown(error);
        }
      }),
    close: () => (close ? client.close() : Promise.resolve()),
  };
}

/**
 * The kit on the SDK v2 client, one attempt per call: the matrix checks what one call
 * shows; the kit's retries have their own tests (test/client).
 */
function kitCaller(client: V2Client): Caller {
  const kit = createToolClient(client, { retry: { maxAttempts: 1 }, timeoutMs: CALL_TIMEOUT_MS });
  return {
    call: (tool, args, around = (call) => call()) =>
      around(async () => ({ kind: "kit", outcome: await kit.call(tool, args) })),
    close: () => Promise.resolve(), // the SDK v2 caller closes the client
  };
}

/** The Inspector's arguments that name the server (before `--method`). */
function inspectorTarget(endpoint: Endpoint): string[] {
  if (endpoint.kind === "http") {
    const token = endpoint.callToken ?? endpoint.token;
    // --stored-auth-only: never start an interactive OAuth login (the CI mode).
    return [endpoint.url, "--header", `Authorization: Bearer ${token}`, "--stored-auth-only"];
  }
  // env(1) carries the server's environment, so nothing depends on how the Inspector
  // passes its own to a child.
  const env = Object.entries(endpoint.env).map(([k, v]) => `${k}=${v}`);
  return [
    "--connect-timeout",
    String(CONNECT_TIMEOUT_MS),
    "/usr/bin/env",
    ...env,
    endpoint.command,
    ...endpoint.args,
  ];
}

/** Reads the Inspector's JSON output: a result (any exit code), or its error envelope. */
export function parseInspector(run: { code: number | null; stdout: string; stderr: string }): Seen {
  const line = run.stdout.trim();
  if (line !== "") {
    try {
      const parsed = JSON.parse(line) as { result?: unknown };
      if (typeof parsed.result === "object" && parsed.result !== null) {
        return { kind: "result", result: parsed.result as Record<string, unknown> };
      }
    } catch {
      // not JSON: reported below
    }
  }
  const last = run.stderr.trim().split("\n").at(-1) ?? "";
  try {
    const error = (JSON.parse(last) as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      kind: "cli",
      exitCode: run.code,
      ...(typeof error?.code === "string" ? { code: error.code } : {}),
      message: typeof error?.message === "string" ? error.message : last,
    };
  } catch {
    return { kind: "cli", exitCode: run.code, message: (last || line).slice(0, 300) };
  }
}

/**
 * The Inspector CLI, one process per call (as a user runs it), at most `limiter`'s number
 * at once; each slot has its own HOME (the Inspector keeps state there).
 */
function inspectorCaller(endpoint: Endpoint, limiter: Limiter<string>): Caller {
  return {
    call: (tool, args, around = (call) => call()) =>
      limiter.run((home) =>
        around(async () => {
          let run;
          try {
            run = await runInspector(
              [
                ...inspectorTarget(endpoint),
                "--method",
                "tools/call",
                "--tool-name",
                tool,
                "--tool-args-json",
                JSON.stringify(args),
              ],
              { home, timeoutMs: INSPECTOR_TIMEOUT_MS },
            );
          } catch (error) {
            return describeThrown(error);
          }
          return parseInspector(run);
        }),
      ),
    close: () => Promise.resolve(),
  };
}

export interface CallerSet {
  callers: Record<ClientName, Caller>;
  close(): Promise<void>;
}

/**
 * Connects the four clients to `endpoint` (the Inspector connects per call). The kit wraps
 * the SDK v2 column's client, as a harness would: `sdk2` reuses a connected one (a stdio
 * server per client is seconds of CPU), which the caller then keeps and closes.
 */
export async function openCallers(
  endpoint: Endpoint,
  inspectors: Limiter<string>,
  sdk2?: V2Client,
): Promise<CallerSet> {
  const [sdk1, v2] = await Promise.all([openSdk1(endpoint), sdk2 ?? connectSdk2(endpoint)]);
  const callers: Record<ClientName, Caller> = {
    inspector: inspectorCaller(endpoint, inspectors),
    sdk1,
    sdk2: sdk2Caller(v2, sdk2 === undefined),
    kit: kitCaller(v2),
  };
  return {
    callers,
    close: async () => {
      await Promise.allSettled(Object.values(callers).map((c) => c.close()));
    },
  };
}
