// Resource subscriptions end to end: resources/subscribe and resources/unsubscribe
// (2025-11-25), subscriptions/listen (2026-07-28), and server.notifyResourceUpdated(uri)
// reaching the clients that asked, over stdio (a real child process) and HTTP sessions.
// Stateless HTTP acknowledges a subscription but has no channel to notify it on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { LineCollector, REPO_ROOT, minimalEnv } from "../helpers/process.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  connectClient,
  startServer,
  withTimeout,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import { createPrompts, createResources, createTemplates } from "./definitions.js";

const WATCHED = "test://watched-resource";
const OTHER = "test://static-text";
const SERVER = new URL("./stdio-server.ts", import.meta.url).pathname;
/** Child processes start tsx; give them time on a slow CI machine, but not forever. */
const STARTUP_MS = 30_000;

/** Collects `notifications/resources/updated` and lets a test wait for the next one. */
function updates(client: Client) {
  const seen: string[] = [];
  const waiters: ((uri: string) => void)[] = [];
  client.setNotificationHandler("notifications/resources/updated", (notification) => {
    seen.push(notification.params.uri);
    waiters.shift()?.(notification.params.uri);
  });
  return {
    seen,
    next: (what: string) =>
      withTimeout(new Promise<string>((resolve) => waiters.push(resolve)), 10_000, what),
  };
}

function notifiedCount(result: unknown): number {
  const structured = (result as { structuredContent?: { notified?: unknown } }).structuredContent;
  assert.equal(typeof structured?.notified, "number", JSON.stringify(result));
  return structured!.notified as number;
}

for (const mode of CLIENT_MODES) {
  describe(`stdio subscriptions, ${mode} client`, () => {
    let client: Client;
    let stderr: LineCollector;

    before(async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", SERVER],
        cwd: REPO_ROOT,
        env: minimalEnv(),
        stderr: "pipe",
      });
      stderr = new LineCollector(transport.stderr);
      client = new Client(
        { name: "toolgate-resources-stdio", version: "1.0.0" },
        { versionNegotiation: { mode } },
      );
      await client.connect(transport, { timeout: STARTUP_MS });
      assert.equal(client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
    });

    after(async () => {
      await client?.close();
    });

    test("declares resources with subscribe, prompts and completions", () => {
      const capabilities = client.getServerCapabilities();
      assert.deepEqual(capabilities?.resources, { subscribe: true, listChanged: false });
      assert.deepEqual(capabilities?.prompts, { listChanged: false });
      assert.deepEqual(capabilities?.completions, {});
      assert.deepEqual(capabilities?.tools, { listChanged: false });
    });

    test("reads and gets prompts over stdio", async () => {
      const read = await client.readResource({ uri: "test://template/7/data" });
      assert.match(JSON.stringify(read.contents), /Data for ID: 7/);
      const prompt = await client.getPrompt({ name: "test_simple_prompt" });
      assert.equal(prompt.messages.length, 1);
    });

    test("notifies a subscriber of its URI only, until it unsubscribes", async () => {
      const received = updates(client);
      if (mode === "legacy") {
        assert.deepEqual(await client.subscribeResource({ uri: WATCHED }), {});
      } else {
        const subscription = await client.listen({ resourceSubscriptions: [WATCHED] });
        assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [WATCHED]);
      }
      const next = received.next("the update of the watched resource");
      const touched = await client.callTool({ name: "touch", arguments: { uri: WATCHED } });
      assert.equal(notifiedCount(touched), 1);
      assert.equal(await next, WATCHED);

      // Another URI: nothing is delivered (legacy: nobody subscribed; 2026: the listen
      // filter of the SDK entry drops it).
      await client.callTool({ name: "touch", arguments: { uri: OTHER } });
      // A round trip after the touch: any notification sent before it has arrived.
      await client.listTools();
      assert.deepEqual(received.seen, [WATCHED]);

      if (mode === "legacy") {
        assert.deepEqual(await client.unsubscribeResource({ uri: WATCHED }), {});
        const again = await client.callTool({ name: "touch", arguments: { uri: WATCHED } });
        assert.equal(notifiedCount(again), 0);
        await client.listTools();
        assert.deepEqual(received.seen, [WATCHED]);
      }
      assert.equal(
        stderr.lines.some((line) => line.includes('"level":50')),
        false,
        "no error logged",
      );
    });
  });
}

describe("HTTP subscriptions", () => {
  let stateful: RunningServer;
  let stateless: RunningServer;
  const open: ConnectedClient[] = [];

  before(async () => {
    const features = {
      resources: createResources(),
      resourceTemplates: createTemplates(),
      prompts: createPrompts(),
      audit: false as const,
    };
    stateful = await startServer([], { ...features, http: { sessions: true } });
    stateless = await startServer([], features);
  });

  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await stateful?.close();
    await stateless?.close();
  });

  test("a session (2025-11-25) is notified until it unsubscribes or closes", async () => {
    const connected = await connectClient(stateful.url, "legacy");
    open.push(connected);
    const received = updates(connected.client);
    await connected.client.subscribeResource({ uri: WATCHED });
    const next = received.next("the update on the session's stream");
    assert.equal(await stateful.server.notifyResourceUpdated(WATCHED), 1);
    assert.equal(await next, WATCHED);
    assert.equal(await stateful.server.notifyResourceUpdated(OTHER), 0);

    await connected.client.unsubscribeResource({ uri: WATCHED });
    assert.equal(await stateful.server.notifyResourceUpdated(WATCHED), 0);

    // Subscribed again, then the client goes away: the session is no longer notified.
    await connected.client.subscribeResource({ uri: WATCHED });
    await connected.transport.terminateSession();
    await connected.close();
    assert.equal(await stateful.server.notifyResourceUpdated(WATCHED), 0);
  });

  for (const mode of CLIENT_MODES) {
    test(`stateless HTTP acknowledges subscriptions but cannot notify (${mode})`, async () => {
      const connected = await connectClient(stateless.url, mode);
      open.push(connected);
      if (mode === "legacy") {
        assert.deepEqual(await connected.client.subscribeResource({ uri: WATCHED }), {});
        assert.deepEqual(await connected.client.unsubscribeResource({ uri: WATCHED }), {});
        await connected.client.subscribeResource({ uri: WATCHED });
      }
      assert.equal(await stateless.server.notifyResourceUpdated(WATCHED), 0);
    });
  }

  test("notifyResourceUpdated: 0 without resources, TypeError without a URI", async () => {
    const toolsOnly = await startServer([], { audit: false });
    try {
      assert.equal(await toolsOnly.server.notifyResourceUpdated(WATCHED), 0);
      await assert.rejects(
        toolsOnly.server.notifyResourceUpdated(""),
        /notifyResourceUpdated expects a resource URI/,
      );
    } finally {
      await toolsOnly.close();
    }
  });
});
