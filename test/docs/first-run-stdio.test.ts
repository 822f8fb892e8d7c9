// The README's stdio line (`demo-stdio`), run as written by `sh -c` in the repository's
// root with a token minted by the `demo-call` block's first line, under real MCP clients:
// the SDK v2 and v1 stdio clients. stdout must carry nothing but the protocol: a stray
// line (npm's `> toolgate@0.1.0 start` banner, a log) is a parse error in the client.
// Closing the client ends the demo's stdin, and the whole process tree must go.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as StdioClientTransportV1 } from "@modelcontextprotocol/sdk/client/stdio.js";
import { exampleBlock } from "./blocks.js";
import { readmeEnv, runSh } from "./readme-shell.js";
import { processTree, waitAllGone } from "./process-tree.js";
import { startDemo } from "./readme-demo.js";
import { REPO_ROOT } from "../helpers/process.js";

let token = "";

before(async () => {
  // In the README's order: the demo has run once (`demo`), which records its URL in the dev
  // issuer's key file as the audience `toolgate token` mints for; then the token
  // (`demo-call`). A fresh clone has no key file until then.
  const demo = await startDemo();
  process.kill(demo.npm.pid, "SIGTERM");
  assert.deepEqual(await waitAllGone(demo.tree, 5_000), [], "the demo stopped");
  const [mint] = exampleBlock("demo-call").code.split("\n");
  assert.match(mint!, /^TOKEN=\$\(npx toolgate token /, "demo-call starts by minting TOKEN");
  const run = await runSh(`${mint}\nprintf '%s' "$TOKEN"`);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/, "a JWT");
  token = run.stdout;
});

function stdioCommand(): string {
  const command = exampleBlock("demo-stdio").code.trim();
  assert.match(command, /npm start --silent -- --stdio/);
  return command;
}

/** What the client and the server had to say: parse errors and the server's stderr. */
interface Session {
  toolNames: string[];
  order: unknown;
  errors: Error[];
  stderr: string;
}

type AnyClient = Pick<Client, "listTools" | "callTool" | "close"> & {
  onerror?: (error: Error) => void;
};

async function exercise(
  client: AnyClient,
  connect: () => Promise<void>,
  serverPid: () => number | null | undefined,
  stderr: () => string,
): Promise<Session> {
  const errors: Error[] = [];
  // The transport reports a stdout line that is not JSON-RPC through onerror, which the
  // client forwards here, and carries on with the next line.
  client.onerror = (error) => errors.push(error);
  await connect();
  const tree = processTree(serverPid()!);
  try {
    const { tools } = await client.listTools();
    const result = await client.callTool({
      name: "get_order",
      arguments: { order_id: "INV-2024-00001" },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    return {
      toolNames: tools.map((t) => t.name).sort(),
      order: result.structuredContent,
      errors,
      stderr: stderr(),
    };
  } finally {
    await client.close();
    // Closing ends the demo's stdin: the whole tree (sh, npm, sh, node) goes.
    const left = await waitAllGone(tree, 5_000);
    assert.deepEqual(left, [], `still running after the client closed:\n${stderr()}`);
  }
}

function v2Session(command: string): Promise<Session> {
  const transport = new StdioClientTransport({
    command: "sh",
    args: ["-c", command],
    cwd: REPO_ROOT,
    env: readmeEnv({ TOKEN: token }),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += String(chunk)));
  const client = new Client({ name: "first-run-v2", version: "1.0.0" });
  return exercise(
    client,
    () => client.connect(transport),
    () => transport.pid,
    () => stderr,
  );
}

function v1Session(command: string): Promise<Session> {
  const transport = new StdioClientTransportV1({
    command: "sh",
    args: ["-c", command],
    cwd: REPO_ROOT,
    env: readmeEnv({ TOKEN: token }),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += String(chunk)));
  const client = new ClientV1({ name: "first-run-v1", version: "1.0.0" });
  return exercise(
    client as unknown as AnyClient,
    () => client.connect(transport),
    () => transport.pid,
    () => stderr,
  );
}

function assertServed(session: Session): void {
  assert.deepEqual(session.toolNames, ["get_order", "issue_refund", "list_orders"]);
  assert.equal((session.order as { id?: string } | undefined)?.id, "INV-2024-00001");
}

describe("README first run: the demo over stdio", () => {
  for (const [name, session] of [
    ["SDK v2", v2Session],
    ["SDK v1", v1Session],
  ] as const) {
    it(`${name} client: tools/list and get_order, and not one stray line on stdout`, async () => {
      const served = await session(stdioCommand());
      assertServed(served);
      assert.deepEqual(
        served.errors.map((e) => e.message),
        [],
        `the client saw non-protocol output; server stderr:\n${served.stderr}`,
      );
      assert.match(served.stderr, /serving MCP on stdio/, "the banner went to stderr");
    });
  }

  // The v2 client skips lines that are not JSON without a word (it reports JSON that is not
  // JSON-RPC, such as a log line); the v1 client reports every line it cannot parse.
  it("without --silent, npm's banner reaches the v1 client as junk (so the check above can fail)", async () => {
    const served = await v1Session(stdioCommand().replace("npm start --silent", "npm start"));
    assertServed(served); // the client skips the junk lines, but it reports them
    assert.ok(
      served.errors.some((e) => e instanceof SyntaxError),
      `the client reported npm's banner lines: ${served.errors.map((e) => e.message).join("; ")}`,
    );
  });
});
