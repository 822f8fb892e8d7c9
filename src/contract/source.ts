// Where the current contracts come from: a module that exports the tools (read
// in-process), or a running MCP server asked for tools/list over Streamable HTTP or stdio.
// Every failure is a SourceError with one line that says what to fix.
import { stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ToolDefinition } from "../tool/types.js";
import { contractFromListing, contractOf, type ListedTool } from "./snapshot.js";
import type { ToolContract } from "./types.js";
import { isRecord } from "../util/is-record.js";
import { importWithProjectTsx } from "./typescript-module.js";

/** A source that did not yield contracts: missing module, no tools, unreachable server. */
export class SourceError extends Error {
  override readonly name = "SourceError";
}

export type ContractSource =
  | { readonly kind: "module"; readonly path: string }
  | {
      readonly kind: "url";
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly kind: "stdio"; readonly command: string; readonly args: readonly string[] };

export interface LoadOptions {
  /** Bounds connecting and listing (url and stdio). Default 10 000 ms. */
  timeoutMs?: number;
  /** Resolves relative module paths; the stdio server's working directory. Default cwd. */
  cwd?: string;
  /** The stdio server's environment. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 10_000;

/** How the source is named in messages: `--module tools.ts`, `--url http://...`. */
export function describeSource(source: ContractSource): string {
  if (source.kind === "module") return `--module ${source.path}`;
  if (source.kind === "url") return `--url ${source.url}`;
  return `--stdio ${[source.command, ...source.args].join(" ")}`;
}

/** The current contracts of the source's tools, in listing order. */
export async function loadContracts(
  source: ContractSource,
  options: LoadOptions = {},
): Promise<ToolContract[]> {
  if (source.kind === "module") {
    const tools = await toolsFromModule(source.path, options.cwd);
    return tools.map(contractOf);
  }
  const listed = await listTools(source, options);
  return listed.map(contractFromListing);
}

/**
 * Imports a module and returns the tools it exports: `tools` (an array of defineTool
 * results), `server` (a createToolServer result), or either as the default export.
 * TypeScript modules load under tsx: the process's own loader when the CLI runs under tsx,
 * else the tsx installed in the project (`cwd`).
 */
export async function toolsFromModule(
  modulePath: string,
  cwd = process.cwd(),
): Promise<ToolDefinition[]> {
  const resolved = path.resolve(cwd, modulePath);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isFile()) throw new SourceError(`no module at ${modulePath} (${resolved})`);
  let loaded: Record<string, unknown>;
  try {
    loaded = await importModule(resolved, cwd);
  } catch (err) {
    throw new SourceError(`cannot load ${modulePath}: ${firstLine(err)}`);
  }
  const candidate = loaded["tools"] ?? loaded["server"] ?? loaded["default"];
  const tools = isRecord(candidate) && "tools" in candidate ? candidate["tools"] : candidate;
  if (!Array.isArray(tools)) {
    throw new SourceError(
      `${modulePath} exports no tools: export \`tools\` (an array of defineTool(...) results) ` +
        "or `server` (a createToolServer(...) result), or make either the default export",
    );
  }
  if (tools.length === 0) throw new SourceError(`${modulePath} exports an empty tools list`);
  const names = new Set<string>();
  for (const [i, tool] of (tools as unknown[]).entries()) {
    if (!isRecord(tool) || typeof tool["name"] !== "string" || !("parseInput" in tool)) {
      throw new SourceError(`${modulePath}: tools[${i}] is not a defineTool(...) result`);
    }
    if (names.has(tool["name"])) {
      throw new SourceError(`${modulePath}: two tools are named '${tool["name"]}'`);
    }
    names.add(tool["name"]);
  }
  return tools as ToolDefinition[];
}

/** The module's exports; a TypeScript module Node cannot load goes through the project's tsx. */
async function importModule(file: string, cwd: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ERR_UNKNOWN_FILE_EXTENSION" || !/\.[cm]?ts$/.test(file)) throw err;
    const loaded = await importWithProjectTsx(file, cwd);
    if (loaded) return loaded;
    throw new Error(
      `${firstLine(err)} (a TypeScript module needs tsx in the project: npm install --save-dev tsx, ` +
        "or point at the compiled .js)",
      { cause: err },
    );
  }
}

/**
 * The SDK client is a devDependency of toolgate: an installed CLI may not have it, so it
 * is loaded only when a server is asked, with a message saying how to get it.
 */
async function loadSdk<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new SourceError(
        "--url and --stdio need the MCP client SDK: npm install --save-dev @modelcontextprotocol/client",
      );
    }
    throw new SourceError(`cannot load the MCP client SDK: ${firstLine(err)}`);
  }
}

/** tools/list of a running server, every page, within the timeout. */
export async function listTools(
  source: Exclude<ContractSource, { kind: "module" }>,
  options: LoadOptions = {},
): Promise<ListedTool[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
  const { Client, StreamableHTTPClientTransport } = await loadSdk(
    () => import("@modelcontextprotocol/client"),
  );
  const client = new Client({ name: "toolgate-contract", version: "1.0.0" });
  let stderrTail = "";
  let transport: Parameters<typeof client.connect>[0];
  if (source.kind === "url") {
    transport = new StreamableHTTPClientTransport(new URL(source.url), {
      requestInit: { headers: { ...source.headers } },
    });
  } else {
    const { StdioClientTransport } = await loadSdk(
      () => import("@modelcontextprotocol/client/stdio"),
    );
    const stdio = new StdioClientTransport({
      command: source.command,
      args: [...source.args],
      cwd: options.cwd ?? process.cwd(),
      env: childEnv(options.env ?? process.env),
      stderr: "pipe",
    });
    // Drained (a full pipe would stall the server) and kept short, for error messages.
    stdio.stderr?.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + String(chunk)).slice(-4096);
    });
    transport = stdio;
  }
  const what = describeSource(source);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SourceError(`${what} did not answer tools/list within ${formatMs(timeoutMs)}`));
    }, timeoutMs);
  });
  const requestOptions = { signal: controller.signal, timeout: timeoutMs };
  const work = (async () => {
    await client.connect(transport, requestOptions);
    const tools: ListedTool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? undefined : { cursor }, {
        ...requestOptions,
        cacheMode: "bypass",
      });
      tools.push(...(page.tools as ListedTool[]));
      cursor = page.nextCursor;
      // A server that hands out the same cursor twice would keep us here forever.
      if (cursor !== undefined && seen.has(cursor))
        throw new SourceError(`${what} repeated the tools/list cursor '${cursor}'`);
      if (cursor !== undefined) seen.add(cursor);
    } while (cursor !== undefined);
    return tools;
  })();
  work.catch(() => undefined); // settled by the race below; never unhandled
  try {
    return await Promise.race([work, timedOut]);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`cannot list the tools of ${what}: ${explain(err, stderrTail)}`);
  } finally {
    clearTimeout(timer);
    // Ends the HTTP session, or the stdio child (stdin closed, then SIGTERM, then SIGKILL,
    // 2 s apart); bounded, so a stuck close cannot hang the CLI.
    await Promise.race([
      client.close().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
  }
}

/** The one-line reason for a connection failure, with the cause a fetch error hides. */
function explain(err: unknown, stderrTail: string): string {
  let reason = firstLine(err);
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === "number") {
    // "Error POSTing to endpoint: {json-rpc error}": the server's own words are the point.
    const body = /\{.*\}$/.exec(reason)?.[0];
    let said: unknown;
    try {
      said =
        body === undefined
          ? undefined
          : (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    } catch {
      said = undefined;
    }
    reason = `HTTP ${status}${typeof said === "string" ? `: ${said}` : ""}`;
    if (status === 401) reason += `; pass a token: --header "Authorization: Bearer <token>"`;
  }
  const cause = (err as { cause?: unknown } | null)?.cause;
  const causeCode = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof causeCode === "string") reason += ` (${causeCode})`;
  else if (cause instanceof Error && cause.message) reason += ` (${firstLine(cause)})`;
  const lastLine = stderrTail
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1);
  if (lastLine) reason += `; the server's last stderr line: ${lastLine.slice(0, 300)}`;
  return reason;
}

/** The environment a stdio server inherits: ours, without the test runner's marker. */
function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && key !== "NODE_TEST_CONTEXT") out[key] = value;
  }
  return out;
}

/**
 * Splits a command line on whitespace, honouring "double" and 'single' quotes and
 * backslash escapes (outside single quotes). No variables, globs or pipes: no shell.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new SourceError(`unterminated ${quote} quote in the command line`);
  if (inWord) words.push(word);
  return words;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // RFC 9110 token

/** "Name: value" to [name, value]; undefined when it is not a header. */
export function parseHeader(text: string): [string, string] | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) return undefined;
  return [name, value];
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split("\n")[0] ?? "").trim() || (err as Error)?.name || "unknown error";
}
