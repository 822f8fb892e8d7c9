// One upstream MCP server behind the gateway: its connection (a child process over stdio,
// or a Streamable HTTP endpoint), its current tools/list, restarts with backoff, and the
// forwarding of one call with a clear answer to "was it sent?", which decides whether a
// write may be retried (see forward.ts).
import { AsyncLocalStorage } from "node:async_hooks";
import {
  Client,
  SdkErrorCode,
  StreamableHTTPClientTransport,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Tool,
} from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { subjectTokenOf } from "../auth/subject-token.js";
import type { Logger } from "../log/logger.js";
import type { UpstreamOptions } from "./options.js";
import { directCall } from "./direct-call.js";
import { UpstreamLost, UpstreamNotSent, UpstreamProtocolError } from "./upstream-errors.js";

export type UpstreamState = "starting" | "ready" | "down" | "closed";

export { UpstreamLost, UpstreamNotSent, UpstreamProtocolError } from "./upstream-errors.js";

export interface UpstreamCall {
  readonly name: string;
  /**
   * The tool's tools/list entry. Sent without its outputSchema: the SDK client would
   * otherwise reject a result that does not match it, after the upstream ran the call,
   * and the gateway passes the upstream's results through as they are.
   */
  readonly entry: Tool;
  readonly arguments: Record<string, unknown>;
  readonly meta?: Record<string, unknown>;
  /** Aborts the request (and sends notifications/cancelled). */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** For a token-exchange credential: who the call is for. */
  readonly principal: Principal;
}

export interface UpstreamRuntime {
  /** The key in `upstreams`. */
  readonly name: string;
  readonly prefix: string;
  readonly options: UpstreamOptions;
  state(): UpstreamState;
  /** The last tools/list (kept while the upstream is down, so its tools keep their contract). */
  tools(): readonly Tool[] | undefined;
  /** The upstream's `serverInfo.version`, once connected. */
  serverVersion(): string | undefined;
  /** Milliseconds until the next reconnection attempt (0 when connected). */
  retryAfterMs(): number;
  /** The first connection attempt; resolves either way (failures are retried with backoff). */
  start(): Promise<void>;
  /** Asks tools/list again (on a timer, or after notifications/tools/list_changed). */
  refresh(): Promise<void>;
  call(call: UpstreamCall): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface UpstreamEvents {
  /** A new tools/list arrived (after connecting, a refresh, or a list_changed notification). */
  onTools(upstream: UpstreamRuntime, tools: readonly Tool[]): void;
  /** The connection state changed. */
  onState?(upstream: UpstreamRuntime, state: UpstreamState): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RESTART_INITIAL_MS = 500;
const DEFAULT_RESTART_MAX_MS = 30_000;
// An upstream that stayed up this long has recovered: its next failure starts the backoff over.
const STABLE_AFTER_MS = 30_000;
const CLIENT_INFO = { name: "toolgate-gateway", version: "1.0.0" };

export function createUpstream(
  name: string,
  prefix: string,
  options: UpstreamOptions,
  log: Logger,
  events: UpstreamEvents,
): UpstreamRuntime {
  const initialDelay = options.restart?.initialDelayMs ?? DEFAULT_RESTART_INITIAL_MS;
  const maxDelay = options.restart?.maxDelayMs ?? DEFAULT_RESTART_MAX_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const upLog = log.child({ upstream: name });
  // Per-request headers of HTTP upstreams: the credential is resolved for each call (token
  // exchange is per user), and the transport's fetch reads them from here.
  const requestHeaders = new AsyncLocalStorage<Record<string, string>>();

  let state: UpstreamState = "starting";
  let client: Client | undefined;
  // HTTP: the connected transport, whose session id and protocol version direct calls reuse.
  let httpTransport: StreamableHTTPClientTransport | undefined;
  let listing: readonly Tool[] | undefined;
  let version: string | undefined;
  let failures = 0;
  let nextAttemptAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let connectedAt = 0;
  let connecting: Promise<void> | undefined;
  let stderrTail = "";

  const setState = (next: UpstreamState) => {
    if (state === next) return;
    state = next;
    events.onState?.(runtime, next);
  };

  const discoveryHeaders = async (): Promise<Record<string, string>> => {
    const credential = options.discoveryCredential ?? options.credential;
    if (!credential) return {};
    return credential.headers({
      principal: ANONYMOUS_PRINCIPAL,
      subjectToken: undefined,
      scope: undefined,
      signal: AbortSignal.timeout(connectTimeoutMs),
      backend: name,
    });
  };

  const makeTransport = () => {
    if (options.stdio) {
      const transport = new StdioClientTransport({
        command: options.stdio.command,
        args: [...(options.stdio.args ?? [])],
        ...(options.stdio.env ? { env: { ...options.stdio.env } } : {}),
        ...(options.stdio.cwd ? { cwd: options.stdio.cwd } : {}),
        stderr: "pipe",
      });
      // Drained (a full pipe stalls the child) and kept short, for the log when it dies.
      transport.stderr?.on("data", (chunk: Buffer) => {
        stderrTail = (stderrTail + String(chunk)).slice(-2048);
      });
      return transport;
    }
    const url = new URL(options.url as string);
    return new StreamableHTTPClientTransport(url, {
      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        const extra = requestHeaders.getStore() ?? (await discoveryHeaders());
        for (const [key, value] of Object.entries(extra)) headers.set(key, value);
        return fetchWithOwnSignal(input, { ...init, headers });
      },
    });
  };

  const scheduleRestart = (why: string | ((retryInMs: number) => string)) => {
    if (state === "closed" || restartTimer) return;
    if (connectedAt !== 0 && Date.now() - connectedAt > STABLE_AFTER_MS) failures = 0;
    const delay = Math.min(maxDelay, initialDelay * 2 ** Math.min(failures, 20));
    failures += 1;
    nextAttemptAt = Date.now() + delay;
    setState("down");
    const tail = lastLine(stderrTail);
    const reason = typeof why === "string" ? why : why(delay);
    upLog.warn(
      { reason, retryInMs: delay, ...(tail ? { stderr: tail } : {}) },
      "upstream unavailable; reconnecting with backoff",
    );
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void connect();
    }, delay);
    restartTimer.unref();
  };

  const connect = (): Promise<void> =>
    (connecting ??= (async () => {
      if (state === "closed") return;
      const old = client;
      client = undefined;
      if (old) await closeQuietly(old);
      stderrTail = "";
      const next = new Client(CLIENT_INFO, {
        listChanged: {
          tools: {
            onChanged: (error, tools) => {
              if (client !== next) return; // a connection closed on purpose since
              if (error)
                upLog.warn({ reason: error.message }, "tools/list after list_changed failed");
              else if (tools) accept(tools);
            },
          },
        },
      });
      let transport;
      try {
        transport = makeTransport();
        await next.connect(transport, { timeout: connectTimeoutMs });
        httpTransport = transport instanceof StreamableHTTPClientTransport ? transport : undefined;
        const { tools } = await next.listTools(undefined, { timeout: connectTimeoutMs });
        // Closed while connecting: the new connection must not outlive the gateway.
        if (runtime.state() === "closed") return void (await closeQuietly(next));
        client = next;
        version = next.getServerVersion()?.version;
        connectedAt = Date.now();
        nextAttemptAt = 0;
        next.onclose = () => {
          if (client !== next) return; // replaced or closed on purpose
          client = undefined;
          scheduleRestart("connection closed (process exited?)");
        };
        setState("ready");
        upLog.info({ tools: tools.length, version }, "upstream connected");
        accept(tools);
      } catch (error) {
        await closeQuietly(next);
        // Slow, not broken (a first `npx` run downloads the package): say so, and how to wait longer.
        scheduleRestart(
          isStartTimeout(error)
            ? (retryInMs) =>
                `did not finish starting within connectTimeoutMs (${connectTimeoutMs} ms), e.g. a first npx run still ` +
                `downloading the package; retrying in ${retryInMs} ms. If it needs longer, raise ` +
                `upstreams.${name}.connectTimeout in the config (connectTimeoutMs in code)`
            : describe(error),
        );
      }
    })().finally(() => {
      connecting = undefined;
    }));

  const accept = (tools: readonly Tool[]) => {
    listing = tools;
    events.onTools(runtime, tools);
  };

  const runtime: UpstreamRuntime = {
    name,
    prefix,
    options,
    state: () => state,
    tools: () => listing,
    serverVersion: () => version,
    retryAfterMs: () => (state === "ready" ? 0 : Math.max(100, nextAttemptAt - Date.now())),
    start: () => connect(),
    async refresh() {
      const current = client;
      if (!current || state !== "ready") return;
      try {
        const { tools } = await current.listTools(undefined, {
          timeout: connectTimeoutMs,
          cacheMode: "bypass",
        });
        if (client === current) accept(tools);
      } catch (error) {
        upLog.warn({ reason: describe(error) }, "tools/list refresh failed");
        if (options.url && isConnectionFailure(error) && client === current) {
          client = undefined;
          await closeQuietly(current);
          scheduleRestart(describe(error));
        }
      }
    },
    async call(call) {
      const current = client;
      if (!current || state !== "ready") {
        throw new UpstreamNotSent(
          `The upstream server '${name}' is unavailable (reconnecting).`,
          runtime.retryAfterMs(),
        );
      }
      let headers: Record<string, string> = {};
      if (options.credential) {
        headers = await options.credential.headers({
          principal: call.principal,
          subjectToken: subjectTokenOf(call.principal),
          scope: undefined,
          signal: call.signal,
          backend: name,
        });
      }
      const params = {
        name: call.name,
        arguments: call.arguments,
        ...(call.meta ? { _meta: call.meta } : {}),
      };
      const direct = httpTransport;
      const version = direct?.protocolVersion;
      if (options.url && direct && version !== undefined && LEGACY_VERSIONS.has(version)) {
        try {
          return await directCall({
            url: new URL(options.url),
            protocolVersion: version,
            sessionId: direct.sessionId,
            headers,
            params,
            signal: call.signal,
            timeoutMs: call.timeoutMs,
            upstream: name,
          });
        } catch (error) {
          const refused = error instanceof UpstreamNotSent;
          // A refused connection, an expired session or a dropped socket: reconnect.
          const reconnect =
            (refused && (error.status === undefined || error.status === 404)) ||
            (error instanceof UpstreamLost && isConnectionFailure(error.cause));
          if (refused && error.status === 401 && options.credential?.invalidate) {
            options.credential.invalidate({
              principal: call.principal,
              subjectToken: subjectTokenOf(call.principal),
              scope: undefined,
              signal: call.signal,
              backend: name,
            });
          }
          if (reconnect && client === current) {
            client = undefined;
            void closeQuietly(current);
            scheduleRestart(describe(error));
          }
          if (refused)
            throw new UpstreamNotSent(error.message, runtime.retryAfterMs(), error.status, {
              cause: error,
            });
          throw error;
        }
      }
      try {
        return await requestHeaders.run(headers, () =>
          current.callTool(params, {
            signal: call.signal,
            timeout: call.timeoutMs,
            toolDefinition: withoutOutputSchema(call.entry),
          }),
        );
      } catch (error) {
        if (call.signal.aborted) throw error;
        const code = (error as { code?: unknown }).code;
        // HTTP: a refused connection never reached the server.
        if (options.url && isConnectionRefused(error)) {
          if (client === current) {
            client = undefined;
            void closeQuietly(current);
            scheduleRestart(describe(error));
          }
          throw new UpstreamNotSent(
            `The upstream server '${name}' refused the connection.`,
            runtime.retryAfterMs(),
          );
        }
        if (typeof code === "number" && code !== CONNECTION_CLOSED && code !== REQUEST_TIMEOUT) {
          throw new UpstreamProtocolError(firstLine(error), code);
        }
        if (code === REQUEST_TIMEOUT) throw error;
        if (options.url && client === current && isConnectionFailure(error)) {
          client = undefined;
          void closeQuietly(current);
          scheduleRestart(describe(error));
        }
        throw new UpstreamLost(
          `The connection to upstream '${name}' ended before it answered: ${firstLine(error)}`,
          { cause: error },
        );
      }
    },
    async close() {
      setState("closed");
      clearTimeout(restartTimer);
      restartTimer = undefined;
      await connecting?.catch(() => undefined);
      const current = client;
      client = undefined;
      if (current) await closeQuietly(current);
    },
  };
  return runtime;
}

/**
 * fetch with a signal of its own, linked to the caller's until the response body ends.
 * The SDK hands every POST its transport's long-lived signal; Node's fetch keeps a
 * listener on it per request until garbage collection, so under load thousands pile up
 * (MaxListenersExceededWarning, and each new request copies the list).
 */
async function fetchWithOwnSignal(input: string | URL, init: RequestInit): Promise<Response> {
  const outer = init.signal;
  if (!outer) return fetch(input, init);
  const own = new AbortController();
  const onAbort = () => own.abort(outer.reason);
  const unlink = () => outer.removeEventListener("abort", onAbort);
  if (outer.aborted) own.abort(outer.reason);
  else outer.addEventListener("abort", onAbort, { once: true });
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal: own.signal });
  } catch (error) {
    unlink();
    throw error;
  }
  if (!response.body) {
    unlink();
    return response;
  }
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({ flush: unlink }),
  );
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function withoutOutputSchema(entry: Tool): Tool {
  const { outputSchema: _dropped, ...rest } = entry;
  return rest;
}

const LEGACY_VERSIONS: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);

// JSON-RPC codes the SDK uses for its own failures (not the server's answer).
const CONNECTION_CLOSED = -32000;
const REQUEST_TIMEOUT = -32001;

export function isUpstreamTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === REQUEST_TIMEOUT;
}

/** initialize or tools/list ran past connectTimeoutMs (the SDK client's own timeout). */
function isStartTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === REQUEST_TIMEOUT || code === SdkErrorCode.RequestTimeout;
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isConnectionRefused(error: unknown): boolean {
  const code = causeCode(error);
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

function isConnectionFailure(error: unknown): boolean {
  if (isConnectionRefused(error)) return true;
  const code = causeCode(error);
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE";
}

async function closeQuietly(client: Client): Promise<void> {
  // Bounded: the SDK closes a stdio child with stdin end, SIGTERM, then SIGKILL.
  await Promise.race([
    client.close().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
  ]);
}

function describe(error: unknown): string {
  const line = firstLine(error);
  const code = causeCode(error);
  return code && !line.includes(code) ? `${line} (${code})` : line;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? "").trim() || "unknown error";
}

function lastLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1)
    ?.slice(0, 300);
}
