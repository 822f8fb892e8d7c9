// `npm start`: the refunds demo as a runnable MCP server (HTTP by default, or stdio).
// It starts its own fake payments provider, so it needs no accounts and no network.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import path from "node:path";
import { createToolServer, devIssuer } from "../../src/index.js";
import { createLogger } from "../../src/server/index.js";
import { DEFAULT_DEV_KEY_FILE } from "../../src/auth/index.js";
import { memoryStore, sqliteStore } from "../../src/stores/index.js";
import {
  AUDIT_SINK_SPECS,
  DEFAULT_AUDIT_FILE,
  auditSinkFromSpec,
  type AuditSink,
} from "../../src/audit/index.js";
import { PAYMENTS_SECRET_ENV, refundsBackends } from "./backends.js";
import { DEFAULT_DB_PATH, openRefundsDb } from "./db.js";
import { startPaymentsService } from "./payments-service.js";
import { watchParent } from "./parent-watch.js";
import { createRefundTools } from "./tools.js";

const DEFAULT_AUDIT_PATH = path.join(".toolgate", DEFAULT_AUDIT_FILE);

const USAGE = `Usage: npm start -- [options]   (or: node --import tsx examples/refunds/main.ts [options])

Options:
  --port <n>     HTTP port, 0 for any free port (default: $PORT or 3000)
  --host <addr>  address to listen on (default: 127.0.0.1)
  --stdio        serve MCP over stdin/stdout instead of HTTP (logs go to stderr)
  --db <path>    SQLite file, or :memory: (default: ${DEFAULT_DB_PATH})
  --keys <path>  dev token issuer's key file (default: ${DEFAULT_DEV_KEY_FILE})
  --audit <sink> where the audit log goes, repeatable: ${AUDIT_SINK_SPECS}
                 (default: sqlite:${DEFAULT_AUDIT_PATH}; read it with: npx toolgate audit)
  -h, --help     show this help`;

const INSTRUCTIONS =
  "Orders and refunds of a small shop. Amounts are integer cents in the order's currency. " +
  "Find orders with list_orders or get_order before refunding; issue_refund moves real money, " +
  "so call it once per refund the user asked for. A failed call returns structuredContent.error " +
  "with type, message and retryable: follow the message, and retry only when retryable is true.";

interface Cli {
  port: number;
  host: string;
  stdio: boolean;
  db: string;
  keys: string;
  audit: AuditSink[] | undefined;
}

/** Parses argv; a usage error exits 2 with a message, never a stack trace. */
function parseCli(argv: string[]): Cli {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string", short: "p" },
        host: { type: "string" },
        stdio: { type: "boolean", default: false },
        db: { type: "string" },
        keys: { type: "string" },
        audit: { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // An empty PORT counts as unset, as most platforms treat it.
  const portText = values.port ?? (process.env["PORT"] || "3000");
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    return usageError(`--port must be a whole number from 0 to 65535 (got '${portText}').`);
  }
  const host = values.host ?? "127.0.0.1";
  if (host === "") return usageError("--host must not be empty.");
  if (values.keys === "") return usageError("--keys must not be empty.");
  let audit: AuditSink[] | undefined;
  try {
    audit = values.audit?.map((spec) => auditSinkFromSpec(spec));
  } catch (error) {
    return usageError(`--audit: ${(error as Error).message}`);
  }
  if (values.stdio && values.audit?.some((spec) => spec.trim() === "stdout")) {
    return usageError(
      "--audit stdout cannot be used with --stdio: stdout carries the MCP protocol.",
    );
  }
  return {
    port,
    host,
    stdio: values.stdio,
    db: values.db ?? DEFAULT_DB_PATH,
    keys: values.keys ?? DEFAULT_DEV_KEY_FILE,
    audit,
  };
}

function usageError(message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const logger = createLogger({ name: "refunds-demo" }); // JSON lines on stderr, never stdout
  const db = openRefundsDb(cli.db);
  // The payments client secret comes from the environment (a real deployment sets it from
  // its secret store). Without one, the demo makes a random one per start and starts its
  // fake provider with the same secret; it is never printed.
  const clientSecret = (process.env[PAYMENTS_SECRET_ENV] ??= randomBytes(32).toString("base64url"));
  const payments = await startPaymentsService({ clientSecret });
  // No tool holds a payments key: the server's `payments` backend fetches OAuth tokens
  // with the client secret, and issue_refund, the only tool that declares the backend,
  // gets a token scoped to refunds:write. The provider's admin key is never used.
  const tools = createRefundTools({ db });
  // Authenticated by default: the local dev issuer (keys generated on first use) stands in
  // for a real authorization server. Its verifier checks that each token's audience is
  // this server's own URL, whatever port it ends up on.
  const issuer = await devIssuer({ keyFile: cli.keys });
  const stdioResource = issuer.audience ?? `http://127.0.0.1:3000/mcp`;
  const server = createToolServer({
    name: "refunds-demo",
    version: "1.0.0",
    tools,
    backends: refundsBackends(payments),
    instructions: INSTRUCTIONS,
    logger,
    // issue_refund is idempotent: its records live next to the orders (or in memory with them).
    store:
      cli.db === ":memory:"
        ? memoryStore()
        : sqliteStore({ path: path.join(path.dirname(cli.db), "idempotency.sqlite") }),
    auth: cli.stdio
      ? { verifier: issuer.verifier(stdioResource), resource: stdioResource }
      : issuer.verifier(),
    // Every call is audited; by default to SQLite in .toolgate/ (`toolgate audit` reads it).
    ...(cli.audit ? { audit: { sinks: cli.audit } } : {}),
  });

  let stopping = false;
  // `npm start` does not pass its own end on to us (see parent-watch.ts): when the process
  // that started the demo is gone, stop the same way as on Ctrl+C.
  const parentWatch = watchParent((pid) => {
    if (stopping) return;
    logger.info({ parentPid: pid }, "the process that started the demo has exited: stopping");
    void stop(0);
  });
  async function stop(code: number): Promise<void> {
    stopping = true;
    parentWatch.stop();
    // Everything gets closed, so the process ends by itself; this only guards against a
    // close that hangs or a leaked handle keeping the port.
    setTimeout(() => process.exit(code), 5_000).unref();
    await server.close();
    await payments.close();
    db.close();
    logger.flush();
    process.exitCode = code;
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1); // A second Ctrl+C: stop waiting.
      void stop(0);
    });
  }

  if (cli.stdio) {
    // stdout carries the protocol: nothing else may be written there.
    process.stderr.write(`refunds demo: serving MCP on stdio (database: ${db.path})\n`);
    await server.handleStdio(); // resolves when stdin ends: the client has gone
    if (!stopping) await stop(0);
    return;
  }
  const { url } = await server.listen({ port: cli.port, host: cli.host });
  // Recorded in the key file so `toolgate token` mints tokens for this server by default.
  await devIssuer({ keyFile: cli.keys, audience: url });
  process.stdout.write(banner(url, db.path, payments.url, cli.keys));
}

function banner(url: string, dbPath: string, paymentsUrl: string, keyFile: string): string {
  const keyFlag = keyFile === DEFAULT_DEV_KEY_FILE ? "" : ` --key-file ${keyFile}`;
  const call = (args: string) =>
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_order","arguments":${args}}}`;
  return `
toolgate refunds demo is running.

  MCP endpoint:      ${url}
  Orders database:   ${dbPath}
  Payments provider: ${paymentsUrl}  (fake, in-process; OAuth client secret never printed)

Every call needs a short-lived bearer token. Mint one from the local dev issuer:
  TOKEN=$(npx toolgate token --sub alice --scope "orders:read refunds:write" --ttl 15m${keyFlag})

Call a tool with the MCP Inspector CLI (it needs Node 22.19 or newer):
  npx @modelcontextprotocol/inspector --cli ${url} --transport http \\
    --header "Authorization: Bearer $TOKEN" \\
    --method tools/call --tool-name get_order --tool-arg order_id=INV-2024-00001

Or with curl (then try order_id "INV-99" or "INV-2024-99999" to see typed errors):
  curl -s ${url} \\
    -H "authorization: Bearer $TOKEN" \\
    -H 'content-type: application/json' \\
    -H 'accept: application/json, text/event-stream' \\
    -H 'mcp-protocol-version: 2025-11-25' \\
    -d '${call('{"order_id":"INV-2024-00001"}')}'

A token with only "orders:read" sees two tools; issue_refund answers "forbidden".
Every call is audited (who, tool, redacted arguments, outcome, latency). See the log:
  npx toolgate audit --since 15m
Prometheus metrics: ${new URL("/metrics", url).href}
Press Ctrl+C to stop.
`;
}

main().catch((error: unknown) => {
  // Startup failures (port in use, SQLite addon missing) are stated, not dumped as a stack.
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
