// `toolgate contract snapshot`: contracts from a module, from a toolgate server over HTTP
// and over stdio (all three agree), contracts of foreign servers, and the lock file's
// stable format (sorted keys, same bytes every time) and its checks.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  LockFileError,
  formatLock,
  parseLock,
  readLock,
  sortKeys,
} from "../../src/contract/lock-file.js";
import { contractFromListing, contractOf, lockOf } from "../../src/contract/snapshot.js";
import { splitCommandLine, parseHeader } from "../../src/contract/source.js";
import { toListEntry } from "../../src/server/tool-registry.js";
import { type Principal } from "../../src/index.js";
import { AuthError } from "../../src/auth/index.js";
import { createFixtureTools } from "../fixtures/tools.js";
import { REPO_ROOT, fixturePath } from "../helpers/process.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { runCliCaptured, type CliRun as Run } from "../helpers/cli.js";

/** Runs `toolgate ...args` in this process. */
const cli = (...args: string[]) => runCliCaptured(args);

const { tools: fixtureTools } = createFixtureTools();
/** The lock the fixture tools must produce from any source. */
const expectedLock = formatLock(lockOf(fixtureTools.map(contractOf)));

let dir: string;
let fixtureModule: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-contract-"));
  // Like a real project's: .ts modules here are ES modules.
  await writeFile(path.join(dir, "package.json"), '{ "type": "module" }\n');
  fixtureModule = path.join(dir, "fixture-tools.ts");
  const from = pathToFileURL(path.join(REPO_ROOT, "test", "fixtures", "tools.ts")).href;
  await writeFile(
    fixtureModule,
    `import { createFixtureTools } from ${JSON.stringify(from)};\nexport const { tools } = createFixtureTools();\n`,
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("contracts", () => {
  test("a tool's contract is its tools/list entry's", () => {
    for (const tool of fixtureTools) {
      assert.deepEqual(contractOf(tool), contractFromListing(toListEntry(tool)), tool.name);
    }
    const shipment = contractOf(fixtureTools.find((t) => t.name === "create_shipment")!);
    assert.equal(shipment.version, "2.0.0");
    assert.deepEqual(shipment.scopes, ["shipments:write"]);
    assert.equal(shipment.sideEffect, "write");
    assert.equal(shipment.annotations["readOnlyHint"], false);
    assert.equal("deprecated" in shipment, false);
    assert.equal("outputSchema" in shipment, false, "no undefined members");
  });

  test("a foreign server's entry: version 0.0.0, no scopes, side effect from readOnlyHint", () => {
    const read = contractFromListing({
      name: "search",
      description: "Searches.",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true },
    });
    assert.deepEqual(read, {
      name: "search",
      version: "0.0.0",
      description: "Searches.",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true },
      scopes: [],
      sideEffect: "read",
    });
    const bare = contractFromListing({ name: "poke", inputSchema: { type: "object" } });
    assert.equal(bare.sideEffect, "write", "no readOnlyHint: assume it writes");
    assert.equal(bare.description, "");
    assert.deepEqual(bare.annotations, {});
  });

  test("a lock refuses two tools of one name", () => {
    const echo = contractOf(fixtureTools[0]!);
    assert.throws(() => lockOf([echo, echo]), /two tools are named 'echo'/);
  });
});

describe("lock file format", () => {
  test("keys are sorted at every level, arrays keep their order, 2-space indent, final newline", () => {
    const text = formatLock({
      lockfileVersion: 1,
      tools: {
        b: {
          sideEffect: "read",
          name: "b",
          version: "1.0.0",
          description: "d",
          inputSchema: { type: "object", required: ["z", "a"], properties: { z: {}, a: {} } },
          annotations: {},
          scopes: ["y", "x"],
        },
      },
    });
    assert.ok(text.endsWith("}\n"));
    assert.match(
      text,
      /^\{\n {2}"lockfileVersion": 1,\n {2}"tools": \{\n {4}"b": \{\n {6}"annotations"/,
    );
    const parsed = JSON.parse(text) as { tools: { b: Record<string, unknown> } };
    const tool = parsed.tools.b;
    assert.deepEqual(Object.keys(tool), [...Object.keys(tool)].sort());
    assert.deepEqual(tool["scopes"], ["y", "x"], "array order kept");
    const schema = tool["inputSchema"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(schema["properties"] as object), ["a", "z"]);
    assert.deepEqual(schema["required"], ["z", "a"]);
  });

  test("sortKeys leaves values alone and drops undefined members", () => {
    assert.deepEqual(sortKeys({ b: 1, a: [{ d: 1, c: undefined }], e: null }), {
      a: [{ d: 1 }],
      b: 1,
      e: null,
    });
  });

  test("a lock round-trips through its text", () => {
    const lock = lockOf(fixtureTools.map(contractOf));
    assert.deepEqual(parseLock(formatLock(lock)), sortKeys(lock));
  });

  test("readLock names the file and what is wrong", async () => {
    const missing = path.join(dir, "missing.json");
    await assert.rejects(readLock(missing), (err: unknown) => {
      assert.ok(err instanceof LockFileError);
      assert.equal(err.missing, true);
      assert.equal(err.message, `no lock file at ${missing}`);
      return true;
    });
    const cases: [string, RegExp][] = [
      ["{ not json", /bad\.json is not valid JSON/],
      ["[]", /bad\.json is not a toolgate lock file: expected a JSON object/],
      ['{"tools":{}}', /lockfileVersion is missing/],
      ['{"lockfileVersion":2,"tools":{}}', /lockfileVersion is 2; this toolgate reads version 1/],
      ['{"lockfileVersion":1}', /tools must be an object/],
      ['{"lockfileVersion":1,"tools":{"a":{"name":"b"}}}', /tools\.a: name must be "a"/],
      [
        JSON.stringify({
          lockfileVersion: 1,
          tools: {
            a: {
              name: "a",
              version: "1.0.0",
              description: "",
              inputSchema: {},
              annotations: {},
              scopes: "x",
              sideEffect: "read",
            },
          },
        }),
        /tools\.a: scopes must be an array of strings/,
      ],
    ];
    const bad = path.join(dir, "bad.json");
    for (const [text, message] of cases) {
      await writeFile(bad, text);
      await assert.rejects(readLock(bad), (err: unknown) => {
        assert.ok(err instanceof LockFileError, text);
        assert.equal(err.missing, false);
        assert.match(err.message, message, text);
        assert.ok(err.message.includes(bad), "names the file");
        return true;
      });
    }
  });
});

describe("toolgate contract snapshot", () => {
  test("from a module: writes the lock, the same bytes every time", async () => {
    const out = path.join(dir, "module.lock.json");
    const first = await cli("contract", "snapshot", "--module", fixtureModule, "--out", out);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "");
    assert.match(first.stdout, /^Wrote 15 tool contracts to .*module\.lock\.json: echo 1\.0\.0, /);
    const bytes = await readFile(out, "utf8");
    assert.equal(bytes, expectedLock);
    const again = await cli("contract", "snapshot", "--module", fixtureModule, "--out", out);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await readFile(out, "utf8"), bytes, "identical bytes");
    // Sorted keys: the text is its own canonical form.
    assert.equal(bytes, `${JSON.stringify(sortKeys(JSON.parse(bytes)), null, 2)}\n`);
    assert.deepEqual(Object.keys((JSON.parse(bytes) as { tools: object }).tools), [
      ...fixtureTools.map((t) => t.name).sort(),
    ]);
  });

  test("--out - prints the lock to stdout only", async () => {
    const run = await cli("contract", "snapshot", "--module", fixtureModule, "--out", "-");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, expectedLock);
  });

  test("a module may export a server, or either as its default export", async () => {
    const index = pathToFileURL(path.join(REPO_ROOT, "src", "index.ts")).href;
    const server = pathToFileURL(path.join(REPO_ROOT, "src", "server", "index.ts")).href;
    const tools = pathToFileURL(path.join(REPO_ROOT, "test", "fixtures", "tools.ts")).href;
    const variants = {
      "server.ts": `export const server = createToolServer({ name: "s", version: "1.0.0", tools: createFixtureTools().tools, logger: silentLogger(), audit: false, metrics: false });`,
      "default-tools.ts": `export default createFixtureTools().tools;`,
    };
    for (const [name, body] of Object.entries(variants)) {
      const file = path.join(dir, name);
      await writeFile(
        file,
        `import { createToolServer } from ${JSON.stringify(index)};\n` +
          `import { silentLogger } from ${JSON.stringify(server)};\n` +
          `import { createFixtureTools } from ${JSON.stringify(tools)};\n${body}\n`,
      );
      const run = await cli("contract", "snapshot", "--module", file, "--out", "-");
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      assert.equal(run.stdout, expectedLock, name);
    }
  });

  describe("over HTTP from a running toolgate server", () => {
    let running: RunningServer;
    const alice: Principal = {
      issuer: "https://issuer.test",
      subject: "alice",
      scopes: ["shipments:write", "seats:write", "orders:delete"],
      claims: {},
      anonymous: false,
    };
    before(async () => {
      running = await startServer(fixtureTools, {
        auth: {
          verify: (token) =>
            token === "alice-token"
              ? Promise.resolve(alice)
              : Promise.reject(new AuthError("invalid_token", "Unknown test token.")),
        },
      });
    });
    after(() => running.close());

    test("with a token: the same lock as from the module", async () => {
      const run = await cli(
        "contract",
        "snapshot",
        "--url",
        running.url.href,
        "--header",
        "Authorization: Bearer alice-token",
        "--out",
        "-",
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, expectedLock);
    });

    test("a token that may call nothing: an empty lock and a warning", async () => {
      const scoped = fixtureTools.filter((t) => t.scopes.length > 0);
      const bob: Principal = { ...alice, subject: "bob", scopes: [] };
      const server = await startServer(scoped, {
        auth: { verify: () => Promise.resolve(bob) },
      });
      try {
        const run = await cli(
          "contract",
          "snapshot",
          "--url",
          server.url.href,
          "--header",
          "Authorization: Bearer bob-token",
          "--out",
          "-",
        );
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(JSON.parse(run.stdout), { lockfileVersion: 1, tools: {} });
        assert.match(run.stderr, /warning: --url .* listed no tools \(with auth on/);
      } finally {
        await server.close();
      }
    });

    test("without a token: one line saying to pass one, exit 1", async () => {
      const run = await cli("contract", "snapshot", "--url", running.url.href, "--out", "-");
      assert.equal(run.code, 1);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^toolgate contract: cannot list the tools of --url http:/);
      assert.match(run.stderr, /--header "Authorization: Bearer <token>"/);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    });
  });

  test("over stdio from a toolgate server: the same lock", async () => {
    const command = `"${process.execPath}" --import tsx "${fixturePath("stdio-server.ts")}"`;
    const run = await cli(
      "contract",
      "snapshot",
      "--stdio",
      command,
      "--timeout",
      "30s",
      "--out",
      "-",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, expectedLock);
  });

  test("a foreign server over stdio: every page of tools/list, contracts from what it lists", async () => {
    const server = path.join(dir, "foreign-server.ts");
    const sdk = import.meta.resolve("@modelcontextprotocol/server");
    const stdio = import.meta.resolve("@modelcontextprotocol/server/stdio");
    await writeFile(
      server,
      `import { Server } from ${JSON.stringify(sdk)};
import { serveStdio } from ${JSON.stringify(stdio)};
const schema = { type: "object", properties: { q: { type: "string" } } };
const pages = {
  "": { tools: [{ name: "search", description: "Searches.", inputSchema: schema, annotations: { readOnlyHint: true } }], nextCursor: "page-2" },
  "page-2": { tools: [{ name: "delete_all", title: "Delete all", inputSchema: { type: "object" } }] },
};
serveStdio(() => {
  const server = new Server({ name: "foreign", version: "9.9.9" }, { capabilities: { tools: {} } });
  server.setRequestHandler("tools/list", (request) => pages[request.params?.cursor ?? ""]);
  return server;
});
`,
    );
    const run = await cli(
      "contract",
      "snapshot",
      "--stdio",
      `"${process.execPath}" --import tsx "${server}"`,
      "--timeout",
      "30s",
      "--out",
      "-",
    );
    assert.equal(run.code, 0, run.stderr);
    const lock = parseLock(run.stdout);
    assert.deepEqual(Object.keys(lock.tools), ["delete_all", "search"]);
    assert.deepEqual(lock.tools["search"], {
      annotations: { readOnlyHint: true },
      description: "Searches.",
      inputSchema: { properties: { q: { type: "string" } }, type: "object" },
      name: "search",
      scopes: [],
      sideEffect: "read",
      version: "0.0.0",
    });
    assert.equal(lock.tools["delete_all"]?.sideEffect, "write");
    assert.equal(lock.tools["delete_all"]?.title, "Delete all");
  });
});

describe("bad input: one line, exit 1 (or 2 for usage), never a stack trace", () => {
  const noStack = (run: Run) => assert.doesNotMatch(run.stderr, /^\s+at /m);

  test("a module that does not exist, or exports no tools", async () => {
    const none = await cli("contract", "snapshot", "--module", path.join(dir, "nope.ts"));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^toolgate contract: no module at .*nope\.ts/);
    noStack(none);

    const empty = path.join(dir, "no-tools.ts");
    await writeFile(empty, "export const answer = 42;\n");
    const run = await cli("contract", "snapshot", "--module", empty, "--out", "-");
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /no-tools\.ts exports no tools: export `tools`/);
    assert.equal(run.stderr.trim().split("\n").length, 1);

    const notTools = path.join(dir, "not-tools.ts");
    await writeFile(notTools, "export const tools = [{ name: 'x' }];\n");
    const bad = await cli("contract", "snapshot", "--module", notTools, "--out", "-");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tools\[0\] is not a defineTool\(\.\.\.\) result/);

    const throwing = path.join(dir, "throwing.ts");
    await writeFile(throwing, "throw new TypeError('boom at load');\n");
    const threw = await cli("contract", "snapshot", "--module", throwing, "--out", "-");
    assert.equal(threw.code, 1, "a module's own TypeError is not a usage error");
    assert.match(threw.stderr, /cannot load .*throwing\.ts: boom at load/);
    noStack(threw);
  });

  test("an unreachable server", async () => {
    const run = await cli(
      "contract",
      "snapshot",
      "--url",
      "http://127.0.0.1:9/mcp",
      "--timeout",
      "5s",
      "--out",
      "-",
    );
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^toolgate contract: cannot list the tools of --url http:\/\/127\.0\.0\.1:9\/mcp: /,
    );
    assert.equal(run.stderr.trim().split("\n").length, 1);
    noStack(run);
  });

  test("a stdio server that never answers hits the timeout", async () => {
    const command = `"${process.execPath}" -e "setTimeout(() => {}, 60000)"`;
    const started = Date.now();
    const run = await cli("contract", "snapshot", "--stdio", command, "--timeout", "500ms");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /did not answer tools\/list within 500 ms/);
    // The timeout, then the SDK's polite stdio shutdown (stdin closed, SIGTERM after 2 s).
    assert.ok(Date.now() - started < 8_000);
  });

  test("usage errors exit 2 with the usage", async () => {
    const cases: [string[], RegExp][] = [
      [["contract"], /missing subcommand/],
      [["contract", "frobnicate"], /unknown subcommand 'frobnicate'/],
      [["contract", "snapshot"], /say where the tools are/],
      [["contract", "snapshot", "--module", "a.ts", "--url", "http://x/mcp"], /use one source/],
      [["contract", "snapshot", "--url", "not a url"], /is not a URL/],
      [["contract", "snapshot", "--url", "ftp://x/mcp"], /http:\/\/ or https:\/\//],
      [["contract", "snapshot", "--module", "a.ts", "--header", "A: b"], /--header only/],
      [["contract", "snapshot", "--url", "http://x/mcp", "--header", "nocolon"], /Name: value/],
      [["contract", "snapshot", "--stdio", "node 'unterminated"], /unterminated ' quote/],
      [["contract", "snapshot", "--stdio", "   "], /needs a command line/],
      [["contract", "snapshot", "--stdio", "x", "--timeout", "soon"], /--timeout 'soon'/],
      [["contract", "snapshot", "--module", "a.ts", "--strict"], /Unknown option '--strict'/],
      [["contract", "check", "--module", "a.ts", "--out", "x"], /Unknown option '--out'/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(...args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
      assert.match(run.stderr, /Usage: toolgate contract/);
      assert.equal(run.stdout, "");
    }
  });

  test("--help", async () => {
    for (const args of [
      ["contract", "--help"],
      ["contract", "check", "-h"],
      ["help", "contract"],
    ]) {
      const run = await cli(...args);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^Usage: toolgate contract snapshot/);
    }
    const main = await cli("--help");
    assert.match(main.stdout, /contract {2,}snapshot tool contracts/);
  });
});

describe("command line and header parsing", () => {
  test("splitCommandLine honours quotes and escapes", () => {
    assert.deepEqual(splitCommandLine(`node --import tsx "my server.ts" 'a b' c\\ d ""`), [
      "node",
      "--import",
      "tsx",
      "my server.ts",
      "a b",
      "c d",
      "",
    ]);
    assert.deepEqual(splitCommandLine(`  a   "b\\"c"  `), ["a", 'b"c']);
    assert.deepEqual(splitCommandLine(""), []);
  });

  test("parseHeader", () => {
    assert.deepEqual(parseHeader("Authorization: Bearer a:b"), ["Authorization", "Bearer a:b"]);
    assert.equal(parseHeader(": x"), undefined);
    assert.equal(parseHeader("Bad Name: x"), undefined);
  });
});
