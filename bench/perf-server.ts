// One contender of `npm run bench` (bench/performance.ts), in its own process so each
// server has its own event loop and its own CPU account. Started as
// `node --import tsx bench/perf-server.ts '<json config>'` with an IPC channel; it listens
// on 127.0.0.1 (a free port), prints one line `{"url":"http://127.0.0.1:PORT/mcp"}` when
// ready, and answers every IPC message `{ id }` with its `process.cpuUsage()` and memory,
// so the bench can charge CPU time per call to this process alone. It exits when its
// stdin closes or the IPC channel goes away (the bench ended or died), on SIGINT/SIGTERM,
// or on error.
//
// Every contender serves the same trivial read tool, `echo({ message }) -> text`, at /mcp;
// the toolgate write contender serves `record({ message })`, an idempotent write. Each
// contender imports only its own framework (dynamic imports), so the memory a process
// reports is that contender's alone.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PerformanceObserver, constants } from "node:perf_hooks";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import * as z from "zod";
import { serveChild } from "./child-ipc.js";
import { echoTool, listening, recordTool } from "./bench-tools.js";
import {
  READ_SCOPE,
  isScaleConfig,
  type ChildStats,
  type MajorGc,
  type PerfServerConfig,
  type StatsRequest,
} from "./perf-shared.js";

const NAME = "bench";
const VERSION = "1.0.0";
const DESCRIPTION = "Returns its message.";

interface Running {
  readonly url: string;
  close(): Promise<void>;
}

/** The request body, read whole (the bare contenders parse JSON like express.json()). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** node:http on 127.0.0.1, a free port; `handle` errors become a 500. */
async function serveNode(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onClose?: () => Promise<void>,
): Promise<Running> {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`request failed: ${(error as Error).message}\n`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      await onClose?.();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function nodeHttp(): Promise<Running> {
  return serveNode(async (req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    const message = (await readJson(req)) as {
      id: string | number;
      params: { arguments: { message: string } };
    };
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: message.id,
      result: { content: [{ type: "text", text: message.params.arguments.message }] },
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  });
}

async function sdk1Server() {
  const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js");
  return () => {
    const server = new McpServer({ name: NAME, version: VERSION });
    server.registerTool(
      "echo",
      { description: DESCRIPTION, inputSchema: { message: z.string() } },
      ({ message }) => ({ content: [{ type: "text", text: message }] }),
    );
    return server;
  };
}

/** As the SDK's stateless example: a new server and transport for every request. */
async function sdk1Stateless(): Promise<Running> {
  const makeServer = await sdk1Server();
  const { StreamableHTTPServerTransport } =
    await import("@modelcontextprotocol/sdk/server/streamableHttp.js");
  return serveNode(async (req, res) => {
    const body = req.method === "POST" ? await readJson(req) : undefined;
    const server = makeServer();
    // No sessionIdGenerator: the SDK's `{ sessionIdGenerator: undefined }` (stateless),
    // spelled so exactOptionalPropertyTypes accepts it.
    const transport = new StreamableHTTPServerTransport({});
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
}

/** As the SDK's stateful example: one transport per session, found by Mcp-Session-Id. */
async function sdk1Stateful(): Promise<Running> {
  const makeServer = await sdk1Server();
  const { StreamableHTTPServerTransport } =
    await import("@modelcontextprotocol/sdk/server/streamableHttp.js");
  const { isInitializeRequest } = await import("@modelcontextprotocol/sdk/types.js");
  const transports = new Map<string, StreamableHTTPServerTransport>();
  return serveNode(
    async (req, res) => {
      const body = req.method === "POST" ? await readJson(req) : undefined;
      const sessionId = req.headers["mcp-session-id"];
      const existing = typeof sessionId === "string" ? transports.get(sessionId) : undefined;
      if (existing) return existing.handleRequest(req, res, body);
      if (sessionId === undefined && isInitializeRequest(body)) {
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, transport),
        });
        transport.onclose = () => {
          if (transport.sessionId) transports.delete(transport.sessionId);
        };
        await makeServer().connect(transport);
        return transport.handleRequest(req, res, body);
      }
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}',
      );
    },
    async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
    },
  );
}

/** The v2 SDK with no protection: createMcpHandler (a fresh McpServer per request). */
async function sdk2Stateless(): Promise<Running> {
  const { createMcpHandler, McpServer } = await import("@modelcontextprotocol/server");
  const { toNodeHandler } = await import("@modelcontextprotocol/node");
  const factory = () => {
    const server = new McpServer({ name: NAME, version: VERSION });
    server.registerTool(
      "echo",
      { description: DESCRIPTION, inputSchema: z.object({ message: z.string() }) },
      ({ message }) => ({ content: [{ type: "text", text: message }] }),
    );
    return server;
  };
  const handler = createMcpHandler(factory, { legacy: "stateless" });
  const serve = toNodeHandler(handler);
  return serveNode(
    (req, res) => serve(req as Parameters<typeof serve>[0], res),
    () => handler.close(),
  );
}

/** A free port on 127.0.0.1 (FastMCP does not report the port it bound). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function fastmcp(stateless: boolean): Promise<Running> {
  const { FastMCP } = await import("fastmcp");
  const quiet = () => undefined;
  const server = new FastMCP({
    name: NAME,
    version: VERSION,
    logger: { debug: quiet, error: quiet, info: quiet, log: quiet, warn: quiet },
    ping: { enabled: false },
    roots: { enabled: false },
  });
  server.addTool({
    name: "echo",
    description: DESCRIPTION,
    parameters: z.object({ message: z.string() }),
    execute: ({ message }) => Promise.resolve(message),
  });
  const port = await freePort();
  await server.start({
    transportType: "httpStream",
    httpStream: { port, host: "127.0.0.1", endpoint: "/mcp", stateless },
  });
  return { url: `http://127.0.0.1:${port}/mcp`, close: () => server.stop() };
}

async function toolgate(config: PerfServerConfig): Promise<Running> {
  const [root, server, stores, audit, gateway] = await Promise.all([
    import("../src/index.js"),
    import("../src/server/index.js"),
    import("../src/stores/index.js"),
    import("../src/audit/index.js"),
    import("../src/gateway/index.js"),
  ]);
  const tg = { ...root, ...server, ...stores, ...audit, ...gateway };
  const echo = (scopes: string[]) => echoTool(tg, "echo", scopes);
  const record = recordTool(tg);
  const logger = tg.silentLogger();
  switch (config.kind) {
    case "toolgate-read":
    case "toolgate-write": {
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      const write = config.kind === "toolgate-write";
      return listening(
        tg.createToolServer({
          name: NAME,
          version: VERSION,
          tools: [write ? record : echo([READ_SCOPE])],
          logger,
          auth: issuer.verifier(),
          audit: { sinks: [tg.sqliteAuditSink({ path: config.auditFile })] },
          ...(write ? { store: tg.sqliteStore({ path: config.storeFile }) } : {}),
        }),
      );
    }
    case "toolgate-upstream":
      return listening(
        tg.createToolServer({
          name: "bench-upstream",
          version: VERSION,
          tools: [echo([])],
          logger,
          audit: false,
        }),
      );
    case "gateway": {
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      return listening(
        await tg.createGateway({
          name: "bench-gateway",
          upstreams: { up: { url: config.upstreamUrl } },
          pinning: { lockFile: config.lockFile },
          auth: issuer.verifier(),
          store: tg.sqliteStore({ path: config.storeFile }),
          audit: { sinks: [tg.sqliteAuditSink({ path: config.auditFile })] },
          logger,
        }),
      );
    }
    default:
      throw new Error(`not a toolgate contender: ${config.kind}`);
  }
}

/**
 * The least any HTTP hop can cost: a reverse proxy with no checks, no parsing and no
 * audit (body in, body out, one keep-alive pool). The gateway's floor on this machine.
 */
async function plainProxy(upstreamUrl: string): Promise<Running> {
  const { Agent, request } = await import("undici");
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 });
  const target = new URL(upstreamUrl);
  return serveNode(
    async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { host: _host, connection: _connection, ...headers } = req.headers;
      const answer = await request(target, {
        method: req.method as "POST",
        headers: headers as Record<string, string>,
        body: Buffer.concat(chunks),
        dispatcher,
      });
      const body = Buffer.from(await answer.body.arrayBuffer());
      const type = answer.headers["content-type"];
      res.writeHead(answer.statusCode, typeof type === "string" ? { "content-type": type } : {});
      res.end(body);
    },
    () => dispatcher.close(),
  );
}

async function start(config: PerfServerConfig): Promise<Running> {
  // Imported only by the servers that need it: the contenders' memory stays their own.
  if (isScaleConfig(config)) return (await import("./scale/servers.js")).startScaleServer(config);
  switch (config.kind) {
    case "node-http":
      return nodeHttp();
    case "plain-proxy":
      return plainProxy(config.upstreamUrl);
    case "sdk1-stateless":
      return sdk1Stateless();
    case "sdk1-stateful":
      return sdk1Stateful();
    case "sdk2-stateless":
      return sdk2Stateless();
    case "fastmcp-stateless":
      return fastmcp(true);
    case "fastmcp-stateful":
      return fastmcp(false);
    default:
      return toolgate(config);
  }
}

/**
 * Records the full collections V8 makes by itself (forced ones, `gc: true`, are left out:
 * they are the bench's, not the server's). RSS and heap are read when the entry arrives,
 * just after the collection.
 */
function watchMajorGcs(): MajorGc[] {
  const seen: MajorGc[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as { detail?: { kind?: number; flags?: number } };
      if (detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      if (((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) continue;
      seen.push({
        at: performance.timeOrigin + entry.startTime,
        rss: process.memoryUsage.rss(),
        heapUsed: process.memoryUsage().heapUsed,
      });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return seen;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as PerfServerConfig;
  const server = await start(config);
  let majorGcs: MajorGc[] | undefined;
  serveChild(server, (message: StatsRequest): ChildStats => {
    if (message.watchGc && majorGcs === undefined) majorGcs = watchMajorGcs();
    const { heapUsed } = process.memoryUsage();
    const before = {
      cpu: process.cpuUsage(),
      rss: process.memoryUsage.rss(),
      maxRss: process.resourceUsage().maxRSS * 1024,
      heapUsed,
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    let afterGc: ChildStats["afterGc"];
    if (message.gc && gc) {
      gc();
      afterGc = { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed };
    }
    const stats: ChildStats = {
      id: message.id,
      ...before,
      ...(afterGc ? { afterGc } : {}),
      ...(majorGcs ? { majorGcs: majorGcs.splice(0) } : {}),
    };
    return stats;
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
