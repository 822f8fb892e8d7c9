// A toolgate server exposing everything the official MCP conformance suite's server
// scenarios expect. Auth is off and it listens on loopback only: it is a test target,
// never a deployment. Run: tsx examples/conformance/main.ts [--port N] (0 = any free port).
import { parseArgs } from "node:util";
import { createToolServer } from "../../src/index.js";
import { clientTools } from "./client-tools.js";
import { prompts, resourceTemplates, resources } from "./resources.js";
import { contentTools } from "./tools.js";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`error: --port must be 0-65535 (got '${values.port}')\n`);
  process.exit(2);
}

const server = createToolServer({
  name: "toolgate-conformance",
  version: "1.0.0",
  tools: [...contentTools, ...clientTools],
  resources,
  resourceTemplates,
  prompts,
  audit: false,
  metrics: false,
  // Sessions: 2025-era server-to-client requests (sampling, elicitation) and notifications
  // outside a request need a connection that outlives one HTTP request.
  http: { sessions: true },
});
const { url } = await server.listen({ port, host: "127.0.0.1" });
// The runner reads this line to find the server.
process.stdout.write(`${url}\n`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void server.close().then(() => process.exit(0)));
}
