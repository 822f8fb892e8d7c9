// Serves the resource and prompt definitions over this process's stdio (spawned by
// test/resources/subscriptions.test.ts), with one tool, `touch`, that calls
// server.notifyResourceUpdated(uri) so the test can trigger an update from the client.
import * as z from "zod";
import { createToolServer, defineTool, type ToolServer } from "../../src/index.js";
import { createLogger } from "../../src/server/index.js";
import { createPrompts, createResources, createTemplates } from "./definitions.js";

const touch = defineTool({
  name: "touch",
  version: "1.0.0",
  description: "Marks a resource as changed (sends notifications/resources/updated).",
  input: z.object({ uri: z.string() }),
  scopes: [],
  sideEffect: "read",
  handler: async ({ uri }) => ({ notified: await server.notifyResourceUpdated(uri) }),
});
const server: ToolServer = createToolServer({
  name: "toolgate-resources-stdio",
  version: "0.0.1",
  tools: [touch],
  resources: createResources(),
  resourceTemplates: createTemplates(),
  prompts: createPrompts(),
  audit: false,
  logger: createLogger({ name: "resources-stdio", level: "info" }),
});
await server.handleStdio();
await server.close();
