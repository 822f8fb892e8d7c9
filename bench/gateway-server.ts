// One server of `npm run bench:gateway`, in its own process so it has its own event loop
// (the load generator and the other servers do not steal its turns). bench/gateway.ts
// starts it as `node --import tsx bench/gateway-server.ts '<json config>'`; it listens on
// 127.0.0.1 port 0 and prints one line `{"url":"http://127.0.0.1:PORT/mcp"}` when ready.
// It exits when its stdin closes (the bench ended or died), on SIGINT/SIGTERM, or on error.
import * as z from "zod";
import { createGateway } from "../src/gateway/create-gateway.js";
import {
  createToolServer,
  defineTool,
  devIssuer,
  silentLogger,
  sqliteAuditSink,
  sqliteStore,
} from "../src/index.js";

export type ServerConfig =
  | { readonly kind: "direct" }
  | {
      readonly kind: "gateway";
      /** The direct server's MCP URL. */
      readonly upstreamUrl: string;
      /** The dev issuer's key file, created by the bench before any child starts. */
      readonly keyFile: string;
      readonly lockFile: string;
      /** The gateway's idempotency store (its default is SQLite too, in .toolgate/). */
      readonly storeFile: string;
      /** With it, audit to this SQLite file; without, `audit: false`. */
      readonly auditFile?: string;
    };

/** The one upstream tool: a trivial read, so the numbers are toolgate's own overhead. */
const echo = defineTool({
  name: "echo",
  version: "1.0.0",
  description: "Returns its message.",
  input: z.object({ message: z.string() }),
  output: z.object({ message: z.string() }),
  scopes: [],
  sideEffect: "read",
  handler: ({ message }) => ({ message }),
});

interface Running {
  listen(options: { port: number; host: string }): Promise<{ url: string }>;
  close(): Promise<void>;
}

async function start(config: ServerConfig): Promise<Running> {
  const logger = silentLogger();
  if (config.kind === "direct") {
    return createToolServer({
      name: "bench-upstream",
      version: "1.0.0",
      tools: [echo],
      logger,
      audit: false,
    });
  }
  const issuer = await devIssuer({ keyFile: config.keyFile });
  return createGateway({
    name: "bench-gateway",
    upstreams: { up: { url: config.upstreamUrl } },
    pinning: { lockFile: config.lockFile },
    auth: issuer.verifier(),
    store: sqliteStore({ path: config.storeFile }),
    audit: config.auditFile ? { sinks: [sqliteAuditSink({ path: config.auditFile })] } : false,
    logger,
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as ServerConfig;
  const server = await start(config);
  let closing: Promise<void> | undefined;
  const stop = (code: number) =>
    (closing ??= server
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(code)));
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  // The bench holds our stdin open; it closes when the bench exits, however it exits.
  process.stdin.on("end", () => void stop(0));
  process.stdin.on("error", () => void stop(0));
  process.stdin.resume();
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
