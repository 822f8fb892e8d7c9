// One upstream MCP server behind the gateway: its connection (a child process over stdio,
// or a Streamable HTTP endpoint), its current tools/list, restarts with backoff, and the
// forwarding of one call with a clear answer to "was it sent?", which decides whether a
// write may be retried (see forward.ts). The SDK client connects, lists and carries stdio
// calls; an HTTP upstream's tools/call goes through upstream-http-call.ts (why: its
// header); every outcome is read in upstream-outcome.ts.
import { Client, StreamableHTTPClientTransport, type Tool } from "@modelcontextprotocol/client";
import type { Logger } from "../log/logger.js";
import type { UpstreamOptions } from "./options.js";
import type {
  UpstreamCall,
  UpstreamEvents,
  UpstreamRuntime,
  UpstreamState,
} from "./upstream-types.js";
import { BoundedStdioTransport } from "./stdio-transport.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  findCause,
} from "./upstream-errors.js";
import { upstreamFetch } from "./upstream-fetch.js";
import { describe, isConnectionFailure, isUpstreamTimeout, lastLine } from "./upstream-failure.js";
import { callHttpUpstream } from "./upstream-http-call.js";
import { upstreamCredentials } from "./upstream-credentials.js";
import { sdkOutcome } from "./upstream-outcome.js";

export type {
  UpstreamCall,
  UpstreamEvents,
  UpstreamRuntime,
  UpstreamState,
} from "./upstream-types.js";
export {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  UpstreamResultTooLarge,
} from "./upstream-errors.js";
export { isUpstreamTimeout } from "./upstream-failure.js";

/** Default bound on one answer of an upstream, bytes (docs/gateway.md, "Limits"). */
export const DEFAULT_MAX_RESULT_BYTES = 4 * 1024 * 1024;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RESTART_INITIAL_MS = 500;
const DEFAULT_RESTART_MAX_MS = 30_000;
// An upstream that stayed up this long has recovered: its next failure starts the backoff over.
const STABLE_AFTER_MS = 30_000;
const CLIENT_INFO = { name: "toolgate-gateway", version: "1.0.0" };
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export function createUpstream(
  name: string,
  prefix: string,
  options: UpstreamOptions,
  log: Logger,
  events: UpstreamEvents,
  /** The gateway's settings an upstream's own options override. */
  defaults: { readonly maxResultBytes?: number | undefined } = {},
): UpstreamRuntime {
  const initialDelay = options.restart?.initialDelayMs ?? DEFAULT_RESTART_INITIAL_MS;
  const maxDelay = options.restart?.maxDelayMs ?? DEFAULT_RESTART_MAX_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const maxResultBytes =
    options.maxResultBytes ?? defaults.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  const upLog = log.child({ upstream: name });
  const credentials = upstreamCredentials(name, options, connectTimeoutMs, upLog);
  // Parsed once: a forwarded call is the hot path.
  const url = options.url === undefined ? undefined : new URL(options.url);

  let state: UpstreamState = "starting";
  let client: Client | undefined;
  // HTTP: the connected transport, whose session id and protocol version calls reuse.
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

  const makeTransport = () => {
    if (options.stdio) {
      const transport = new BoundedStdioTransport({
        ...options.stdio,
        maxMessageBytes: maxResultBytes,
        onOversized: ({ bytes }) =>
          upLog.warn(
            { bytes, maxResultBytes },
            "upstream answer larger than maxResultBytes: dropped, the call fails",
          ),
      });
      // Drained (a full pipe stalls the child) and kept short, for the log when it dies.
      transport.stderr.on("data", (chunk: Buffer) => {
        stderrTail = (stderrTail + String(chunk)).slice(-2048);
      });
      return transport;
    }
    return new StreamableHTTPClientTransport(url as URL, {
      fetch: upstreamFetch({
        upstream: name,
        maxResultBytes,
        headers: credentials.discoveryHeaders,
      }),
    });
  };

  const scheduleRestart = (why: string | ((retryInMs: number) => string), cause?: unknown) => {
    if (state === "closed" || restartTimer) return;
    if (connectedAt !== 0 && Date.now() - connectedAt > STABLE_AFTER_MS) failures = 0;
    const delay = Math.min(maxDelay, initialDelay * 2 ** Math.min(failures, 20));
    failures += 1;
    nextAttemptAt = Date.now() + delay;
    setState("down");
    const reason = typeof why === "string" ? why : why(delay);
    const refused = findCause(cause, UpstreamCredentialRefused);
    if (refused) {
      // Not an outage: retrying alone will not help, an operator must fix the credential
      // (it may be fixed without a restart, so the retries go on).
      upLog.error(
        { reason, status: refused.status, retryInMs: delay },
        `upstream '${name}' refused the gateway's credential: check the credential configured ` +
          "for it (the secret in its environment variable, clientId/tokenUrl, the audience and " +
          "scopes the upstream expects); retrying with backoff",
      );
    } else {
      const tail = lastLine(stderrTail);
      upLog.warn(
        { reason, retryInMs: delay, ...(tail ? { stderr: tail } : {}) },
        "upstream unavailable; reconnecting with backoff",
      );
    }
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void connect();
    }, delay);
    restartTimer.unref();
  };

  /** Drops the connection `current` (if still the one in use) and reconnects later. */
  const reconnect = (current: Client, error: unknown) => {
    if (client !== current) return;
    client = undefined;
    void closeQuietly(current);
    scheduleRestart(describe(error), error);
  };

  const connect = (): Promise<void> =>
    (connecting ??= (async () => {
      if (state === "closed") return;
      const old = client;
      client = undefined;
      if (old) await closeQuietly(old);
      stderrTail = "";
      const next = new Client(CLIENT_INFO, {
        // A 2025-era session (the SDK's default, said here because upstream-http-call.ts
        // speaks that era's tools/call on it).
        versionNegotiation: { mode: "legacy" },
        // listTools() walks every page; the SDK's default cap of 64 pages throws past it,
        // and the upstream stayed down (a server paging 50 tools at a time lists 3,200
        // at most). 1,000 pages still stops a server whose cursors never end.
        listMaxPages: 1_000,
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
          isUpstreamTimeout(error)
            ? (retryInMs) =>
                `did not finish starting within connectTimeoutMs (${connectTimeoutMs} ms), e.g. a first npx run still ` +
                `downloading the package; retrying in ${retryInMs} ms. If it needs longer, raise ` +
                `upstreams.${name}.connectTimeout in the config (connectTimeoutMs in code)`
            : describe(error),
          error,
        );
      }
    })().finally(() => {
      connecting = undefined;
    }));

  const accept = (tools: readonly Tool[]) => {
    listing = tools;
    events.onTools(runtime, tools);
  };

  /**
   * What a failed HTTP call means for the connection: a refused credential is forgotten (a
   * cached token may have been revoked), a refused or dropped connection or an expired
   * session (404: the server restarted) reconnects, and "not sent" waits for it.
   */
  const afterHttpFailure = (error: unknown, current: Client, call: UpstreamCall): unknown => {
    if (error instanceof UpstreamCredentialRefused) {
      credentials.invalidate(call);
      upLog.error(
        { status: error.status },
        `upstream '${name}' refused the gateway's credential for a call: check the credential configured for it`,
      );
      return error;
    }
    const notSent = error instanceof UpstreamNotSent;
    if (
      (notSent && (error.status === undefined || error.status === 404)) ||
      (error instanceof UpstreamLost && isConnectionFailure(error.cause))
    )
      reconnect(current, error);
    if (!notSent) return error;
    const wait = Math.max(error.retryAfterMs, runtime.retryAfterMs());
    return new UpstreamNotSent(error.message, wait, error.status, { cause: error });
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
        const refused = findCause(error, UpstreamCredentialRefused) !== undefined;
        if (options.url && (refused || isConnectionFailure(error))) reconnect(current, error);
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
      const headers = credentials.callHeaders ? await credentials.callHeaders(call) : NO_HEADERS;
      const params = call.meta
        ? { name: call.name, arguments: call.arguments, _meta: call.meta }
        : { name: call.name, arguments: call.arguments };
      const http = httpTransport;
      if (url && http) {
        try {
          return await callHttpUpstream({
            url,
            protocolVersion: http.protocolVersion,
            sessionId: http.sessionId,
            headers,
            params,
            cancellation: call.cancellation,
            timeoutMs: call.timeoutMs,
            upstream: name,
            maxResultBytes,
          });
        } catch (error) {
          throw afterHttpFailure(error, current, call);
        }
      }
      try {
        return await current.callTool(params, {
          signal: call.cancellation.signal,
          timeout: call.timeoutMs,
          toolDefinition: withoutOutputSchema(call.entry),
        });
      } catch (error) {
        if (call.cancellation.aborted) throw error;
        throw sdkOutcome(error, name, maxResultBytes);
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

function withoutOutputSchema(entry: Tool): Tool {
  const { outputSchema: _dropped, ...rest } = entry;
  return rest;
}

async function closeQuietly(client: Client): Promise<void> {
  // Bounded: the transport closes a stdio child with stdin end, SIGTERM, then SIGKILL.
  await Promise.race([
    client.close().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
  ]);
}
