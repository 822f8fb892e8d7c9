// The gateway's YAML config loader (src/gateway/config/): a full file becomes the
// GatewayOptions it describes, with absolute paths and real verifier, store, sink and
// credential objects; every kind of mistake is a ConfigError naming file, line, column
// and setting, all of them at once; and no input makes it throw anything else.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import type { AuthConfig } from "../../src/auth/auth-options.js";
import { DEV_ISSUER } from "../../src/auth/dev-keys.js";
import type { TokenVerifier } from "../../src/auth/verifier.js";
import {
  ConfigError,
  loadGatewayConfig,
  parseGatewayConfig,
  type LoadedConfig,
} from "../../src/gateway/config/load-config.js";

const root = mkdtempSync(path.join(tmpdir(), "toolgate-config-"));
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A fresh directory holding `toolgate.yaml` with `text`; returns the file's path. */
function writeConfig(text: string | Buffer, files: Record<string, string> = {}): string {
  const dir = path.join(root, `case-${++count}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const file = path.join(dir, "toolgate.yaml");
  writeFileSync(file, text);
  return file;
}

async function load(text: string, env: NodeJS.ProcessEnv = {}): Promise<LoadedConfig> {
  return loadGatewayConfig(writeConfig(text), { env });
}

/** The ConfigError's lines, with the temp path shown as "toolgate.yaml". */
async function errorLines(text: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const file = writeConfig(text);
  const error = await loadGatewayConfig(file, { env }).then(
    () => assert.fail("expected a ConfigError"),
    (err: unknown) => err,
  );
  assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
  assert.equal(error.name, "ConfigError");
  assert.equal(error.message.split("\n").length, error.issues.length);
  for (const issue of error.issues) assert.equal(issue.file, file);
  return error.message.split(file).join("toolgate.yaml").split("\n");
}

/** The smallest valid file, for the error cases to vary. */
const STDIO_UPSTREAM = `upstreams:
  fs:
    stdio:
      command: node
`;
const MINIMAL = `auth:
  none: true
${STDIO_UPSTREAM}`;

function jwksJson(): string {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
    format: "jwk",
  });
  return JSON.stringify({ keys: [{ ...jwk, kid: "k1", alg: "ES256", use: "sig" }] });
}

describe("gateway config: valid files", () => {
  it("turns every section into GatewayOptions, with absolute paths and real objects", async () => {
    const file = writeConfig(
      `# A gateway in front of two servers.
name: my-gateway
version: 1.0.0
listen:
  host: 0.0.0.0
  port: 8080
  path: /gw
  maxBodyBytes: 2048
  allowedHosts: [gw.example.com]
  allowedOrigins: [app.example.com]
auth:
  jwt:
    issuer: [https://auth.example.com/, https://other.example.com/]
    audience: https://gw.example.com/mcp
    jwksFile: keys/jwks.json
    algorithms: [ES256]
    typ: at+jwt
  resource: https://gw.example.com/mcp
  stepUp: true
store: sqlite:data/idempotency.sqlite
audit:
  sinks: [stdout, "file:logs/audit.jsonl", "sqlite:data/audit.sqlite"]
  failClosed: true
  redactKeys: [password]
  redactEmails: true
metrics: { path: /prom }
rateLimit: { perPrincipal: 60/min, perTool: 600/min }
defaultTimeout: 45s
pinning:
  lockFile: locks/toolgate.lock.json
  refreshInterval: 2m
upstreams:
  everything:
    stdio:
      command: npx
      args: [-y, "@modelcontextprotocol/server-everything", 3]
      env: { API_KEY: "\${EVERYTHING_KEY}", PORT: 4000, LITERAL: "$\${NOT_A_VAR}" }
      cwd: ./work
    prefix: ev
    timeout: 10s
    connectTimeout: 1.5s
    restart: { initialDelay: 500ms, maxDelay: 30s }
    defaults: { sideEffect: read, scopes: [files:read] }
    tools:
      echo:
        scopes: "echo:read echo:write"
        sideEffect: write
        timeout: 5s
        rateLimit: { perPrincipal: 10/min }
        hidden: false
        redact: [token]
        description: Says it back.
      debug: { hidden: true }
  orders:
    url: https://orders.example.com/mcp
    credential:
      tokenExchange:
        tokenUrl: https://auth.example.com/token
        clientId: gateway
        clientSecretEnv: TOOLGATE_TEST_CLIENT_SECRET
        audience: https://orders.example.com
        scope: orders:read orders:write
        resource: https://orders.example.com/mcp
        authMethod: client_secret_post
    discoveryCredential:
      clientCredentials:
        tokenUrl: https://auth.example.com/token
        clientId: gateway
        clientSecretEnv: TOOLGATE_TEST_CLIENT_SECRET
        scope: [orders:list]
  billing:
    url: http://127.0.0.1:4000/mcp
    credential:
      static: { env: TOOLGATE_TEST_API_TOKEN, header: x-api-key }
`,
      { "keys/jwks.json": jwksJson() },
    );
    const dir = path.dirname(file);
    // Credential providers read their secrets from process.env (see the report on options).
    process.env.TOOLGATE_TEST_CLIENT_SECRET = "client-secret";
    process.env.TOOLGATE_TEST_API_TOKEN = "api-token";
    let loaded: LoadedConfig;
    try {
      loaded = await loadGatewayConfig(file, {
        env: { ...process.env, EVERYTHING_KEY: "ev-secret" },
      });
    } finally {
      delete process.env.TOOLGATE_TEST_CLIENT_SECRET;
      delete process.env.TOOLGATE_TEST_API_TOKEN;
    }
    const { options } = loaded;

    assert.equal(loaded.file, file);
    assert.deepEqual(loaded.listen, { host: "0.0.0.0", port: 8080 });
    assert.equal(options.name, "my-gateway");
    assert.equal(options.version, "1.0.0");
    assert.deepEqual(options.http, {
      path: "/gw",
      maxBodyBytes: 2048,
      allowedHosts: ["gw.example.com"],
      allowedOrigins: ["app.example.com"],
    });

    const auth = options.auth as AuthConfig;
    assert.equal(auth.resource, "https://gw.example.com/mcp");
    assert.equal(auth.stepUp, true);
    assert.equal(auth.verifier.audience, "https://gw.example.com/mcp");
    assert.deepEqual(auth.verifier.issuers, [
      "https://auth.example.com/",
      "https://other.example.com/",
    ]);

    assert.equal(options.store?.name, "sqlite");
    // Built, not opened: nothing is created until the gateway uses the store.
    assert.equal(existsSync(path.join(dir, "data")), false);
    assert.ok(options.audit !== false && options.audit !== undefined);
    assert.deepEqual(
      options.audit.sinks?.map((s) => s.name),
      ["stdout", "file", "sqlite"],
    );
    assert.equal(
      (options.audit.sinks?.[1] as unknown as { path: string }).path,
      path.join(dir, "logs", "audit.jsonl"),
    );
    assert.equal(options.audit.failClosed, true);
    assert.deepEqual(options.audit.redactKeys, ["password"]);
    assert.equal(options.audit.redactEmails, true);
    assert.deepEqual(options.metrics, { path: "/prom" });
    assert.deepEqual(options.rateLimit, { perPrincipal: "60/min", perTool: "600/min" });
    assert.equal(options.defaultTimeoutMs, 45_000);
    assert.deepEqual(options.pinning, {
      lockFile: path.join(dir, "locks", "toolgate.lock.json"),
      refreshIntervalMs: 120_000,
    });

    assert.deepEqual(Object.keys(options.upstreams), ["everything", "orders", "billing"]);
    assert.deepEqual(options.upstreams.everything, {
      stdio: {
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-everything", "3"],
        env: { API_KEY: "ev-secret", PORT: "4000", LITERAL: "${NOT_A_VAR}" },
        cwd: path.join(dir, "work"),
      },
      prefix: "ev",
      timeoutMs: 10_000,
      connectTimeoutMs: 1500,
      restart: { initialDelayMs: 500, maxDelayMs: 30_000 },
      defaults: { sideEffect: "read", scopes: ["files:read"] },
      tools: {
        echo: {
          scopes: ["echo:read", "echo:write"],
          sideEffect: "write",
          timeoutMs: 5000,
          rateLimit: { perPrincipal: "10/min" },
          hidden: false,
          redact: ["token"],
          description: "Says it back.",
        },
        debug: { hidden: true },
      },
    });
    const { orders, billing } = options.upstreams;
    assert.equal(orders?.url, "https://orders.example.com/mcp");
    assert.equal(orders?.credential?.kind, "token_exchange");
    assert.equal(orders?.discoveryCredential?.kind, "client_credentials");
    assert.equal(billing?.credential?.kind, "static");
    const headers = await billing?.credential?.headers({
      principal: { issuer: "", subject: "x", scopes: [], claims: {}, anonymous: false },
      subjectToken: undefined,
      scope: undefined,
      signal: AbortSignal.timeout(1000),
      backend: "billing",
    });
    assert.deepEqual(headers, { "x-api-key": "api-token" });
  });

  it("fills the defaults of a minimal file", async () => {
    const file = writeConfig(MINIMAL);
    const loaded = await loadGatewayConfig(file, { env: {} });
    assert.deepEqual(loaded.listen, { host: "127.0.0.1", port: 3000 });
    const dir = path.dirname(file);
    assert.deepEqual(loaded.options, {
      upstreams: { fs: { stdio: { command: "node", cwd: dir } } },
      dataDir: path.join(dir, ".toolgate"),
      pinning: { lockFile: path.join(dir, "toolgate.lock.json") },
    });
  });

  it("resolves every relative path, defaults included, against the config file's directory", async () => {
    // Loaded from elsewhere: the working directory (the repository) is not the file's.
    const file = writeConfig(
      `auth:
  dev: {}
upstreams:
  files:
    stdio: { command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", ./shared] }
  scripts:
    stdio: { command: node, args: [server.js], cwd: ./bin }
`,
    );
    const dir = path.dirname(file);
    assert.notEqual(process.cwd(), dir);
    const { options, summary } = await loadGatewayConfig(file, { env: {} });
    // stdio children run in the file's directory (or `cwd` relative to it): ./shared is there.
    assert.equal(options.upstreams.files?.stdio?.cwd, dir);
    assert.equal(options.upstreams.scripts?.stdio?.cwd, path.join(dir, "bin"));
    assert.equal(
      summary[0],
      `files: tools as files.<tool>; runs npx -y @modelcontextprotocol/server-filesystem ./shared in ${dir}`,
    );
    // The default store and audit log go to .toolgate beside the file (created at startup).
    assert.equal(options.dataDir, path.join(dir, ".toolgate"));
    // The dev issuer's key too (not the working directory's .toolgate).
    assert.ok(existsSync(path.join(dir, ".toolgate", "dev-issuer.json")));

    // $TOOLGATE_DATA_DIR still moves the default store and audit log, as for the library.
    const moved = await loadGatewayConfig(file, { env: { TOOLGATE_DATA_DIR: "/srv/toolgate" } });
    assert.equal(moved.options.dataDir, "/srv/toolgate");
  });

  it("takes a file name relative to the working directory and returns it absolute", async () => {
    const file = writeConfig(MINIMAL);
    const relative = path.relative(process.cwd(), file);
    const loaded = await loadGatewayConfig(relative, { env: {} });
    assert.equal(loaded.file, file);
  });

  it("parses text with parseGatewayConfig, resolving paths against baseDir", async () => {
    const loaded = await parseGatewayConfig(`${MINIMAL}pinning: { lockFile: pins.json }\n`, {
      file: "toolgate.yaml",
      baseDir: "/srv/gw",
      env: {},
    });
    assert.deepEqual(loaded.options.pinning, { lockFile: "/srv/gw/pins.json" });
    assert.equal(loaded.file, path.resolve("toolgate.yaml"));
  });

  it("builds an introspection verifier with the secret from the environment", async () => {
    const { options } = await load(
      `auth:
  introspection:
    url: https://auth.example.com/introspect
    clientId: gateway
    clientSecretEnv: INTROSPECTION_SECRET
    audience: https://gw.example.com/mcp
${STDIO_UPSTREAM}`,
      { INTROSPECTION_SECRET: "s3cret" },
    );
    assert.equal((options.auth as TokenVerifier).audience, "https://gw.example.com/mcp");
  });

  it("builds the dev issuer's verifier, with its key file relative to the config", async () => {
    const file = writeConfig(`auth:\n  dev:\n    keyFile: keys/dev.json\n${STDIO_UPSTREAM}`);
    const { options } = await loadGatewayConfig(file, { env: {} });
    const verifier = options.auth as TokenVerifier;
    assert.deepEqual(verifier.issuers, [DEV_ISSUER]);
    assert.equal(verifier.audience, undefined);
    assert.ok(existsSync(path.join(path.dirname(file), "keys", "dev.json")));
  });

  it("builds memory, PostgreSQL and Redis stores without connecting", async () => {
    for (const [spec, name] of [
      ["memory", "memory"],
      ["postgres://toolgate@127.0.0.1:1/toolgate", "postgres"],
      ["postgresql://127.0.0.1:1/toolgate", "postgres"],
      ["redis://127.0.0.1:1", "redis"],
      ["rediss://127.0.0.1:1", "redis"],
    ]) {
      const { options } = await load(`${MINIMAL}store: "${spec}"\n`);
      assert.equal(options.store?.name, name, spec);
      await options.store?.close?.();
    }
  });

  it("accepts the other forms of audit, metrics and pinning", async () => {
    const cases: [string, (loaded: LoadedConfig) => void][] = [
      [
        "audit: stdout",
        ({ options }) => assert.equal(options.audit && options.audit.sinks?.[0]?.name, "stdout"),
      ],
      [
        "audit: [stdout, 'postgres://db/audit']",
        ({ options }) =>
          assert.deepEqual(options.audit && options.audit.sinks?.map((s) => s.name), [
            "stdout",
            "postgres",
          ]),
      ],
      ["audit: false", ({ options }) => assert.equal(options.audit, false)],
      [
        "audit: { failClosed: true }",
        ({ options }) => assert.deepEqual(options.audit, { failClosed: true }),
      ],
      ["metrics: false", ({ options }) => assert.equal(options.metrics, false)],
      ["metrics: true", ({ options }) => assert.deepEqual(options.metrics, {})],
      ["pinning: false", ({ options }) => assert.equal(options.pinning, false)],
      ["listen:", ({ listen }) => assert.deepEqual(listen, { host: "127.0.0.1", port: 3000 })],
      ["listen: { port: 0 }", ({ listen }) => assert.equal(listen.port, 0)],
    ];
    for (const [line, check] of cases) check(await load(`${MINIMAL}${line}\n`));
  });

  it("interpolates ${VAR} and ${VAR:-default} in every string value; $${ is literal", async () => {
    const { options, listen } = await load(
      `auth:
  none: true
listen:
  host: \${HOST:-localhost}
  port: \${PORT}
defaultTimeout: \${TIMEOUT:-2s}
upstreams:
  fs:
    stdio:
      command: \${NODE_BIN}
      args: ["--name=\${NAME}-\${NAME}", "$\${HOME}", "cost: $5"]
      env: { EMPTY: "\${UNSET_BUT_DEFAULTED:-}" }
`,
      { PORT: "8080", NODE_BIN: "/usr/bin/node", NAME: "x", HOST: "" },
    );
    assert.deepEqual(listen, { host: "localhost", port: 8080 });
    assert.equal(options.defaultTimeoutMs, 2000);
    const { cwd, ...stdio } = options.upstreams.fs?.stdio ?? { command: "" };
    assert.ok(cwd !== undefined && path.isAbsolute(cwd), "the config file's directory");
    assert.deepEqual(stdio, {
      command: "/usr/bin/node",
      args: ["--name=x-x", "${HOME}", "cost: $5"],
      env: { EMPTY: "" },
    });
  });
});

describe("gateway config: errors", () => {
  it("a missing file", async () => {
    const file = path.join(root, "nowhere", "toolgate.yaml");
    const error = await loadGatewayConfig(file).catch((err: unknown) => err);
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `${file}: cannot read: no such file`);
    assert.deepEqual(error.issues, [{ file, path: "", message: "cannot read: no such file" }]);
  });

  it("a directory", async () => {
    const error = await loadGatewayConfig(root).catch((err: unknown) => err);
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `${root}: cannot read: is a directory, not a file`);
  });

  it("an empty file, or one with only comments", async () => {
    const message =
      "toolgate.yaml: the file is empty: a gateway config needs at least auth and upstreams";
    assert.deepEqual(await errorLines(""), [message]);
    assert.deepEqual(await errorLines("# nothing yet\n\n"), [message]);
  });

  it("a file that is not a mapping", async () => {
    const notMapping = (kind: string) =>
      `the file must be a YAML mapping (key: value lines) with at least auth and upstreams, not ${kind}`;
    assert.deepEqual(await errorLines("hello"), [`toolgate.yaml:1:1: ${notMapping("a string")}`]);
    assert.deepEqual(await errorLines("\n- a\n- b\n"), [
      `toolgate.yaml:2:1: ${notMapping("a list")}`,
    ]);
    assert.deepEqual(await errorLines("42"), [`toolgate.yaml:1:1: ${notMapping("a number")}`]);
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x02, 0x80, 0x0a]);
    assert.deepEqual(await errorLines(binary), [`toolgate.yaml:1:1: ${notMapping("a string")}`]);
  });

  it("YAML syntax errors, at the parser's line and column", async () => {
    assert.deepEqual(await errorLines("auth:\n\tnone: true\n"), [
      "toolgate.yaml:2:1: YAML syntax error: Tabs are not allowed as indentation",
    ]);
    assert.deepEqual(await errorLines("auth: { none: true\nupstreams: {}\n"), [
      "toolgate.yaml:2:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }",
    ]);
    assert.deepEqual(await errorLines("a: 1\n---\nb: 2\n"), [
      "toolgate.yaml:2:1: YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()",
    ]);
    assert.deepEqual(await errorLines("name: !custom x\n"), [
      "toolgate.yaml:1:7: YAML syntax error: Unresolved tag: !custom",
    ]);
    assert.deepEqual(await errorLines("a: *nowhere\n"), [
      "toolgate.yaml:1:4: alias *nowhere has no anchor &nowhere before it",
    ]);
    assert.deepEqual(await errorLines("? [a, b]\n: 1\n"), [
      "toolgate.yaml:1:3: a key must be a plain word or string",
    ]);
  });

  it("a duplicate key, naming it and its line", async () => {
    assert.deepEqual(
      await errorLines(`${MINIMAL}listen:\n  port: 1\n  host: localhost\n  port: 2\n`),
      [
        "toolgate.yaml:10:3: listen.port: duplicate key: each key may appear only once in a mapping",
      ],
    );
  });

  it("an unknown key, with a suggestion when one is close", async () => {
    assert.deepEqual(
      await errorLines(`auth:\n  none: true\nupstreams:\n  fs:\n    stdio:\n      comand: node\n`),
      ["toolgate.yaml:6:7: upstreams.fs.stdio.comand: unknown key: did you mean 'command'?"],
    );
    assert.deepEqual(await errorLines(`${MINIMAL}listen: { hots: localhost }\n`), [
      "toolgate.yaml:7:11: listen.hots: unknown key: did you mean 'host'?",
    ]);
    assert.deepEqual(await errorLines(`${MINIMAL}colour: blue\n`), [
      "toolgate.yaml:7:1: colour: unknown key: expected one of name, version, listen, auth, store, audit, metrics, rateLimit, defaultTimeout, maxResultBytes, pinning, upstreams",
    ]);
  });

  it("a value of the wrong type says what is expected", async () => {
    assert.deepEqual(
      await errorLines(`${MINIMAL}listen:\n  port: http\n  allowedHosts: gw.example.com\n`),
      [
        "toolgate.yaml:8:9: listen.port: must be a port number from 0 to 65535 (0 = any free port)",
        "toolgate.yaml:9:17: listen.allowedHosts: must be a list of host names",
      ],
    );
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  fs:\n    stdio: { command: node, args: --verbose }\n    tools:\n      read: { sideEffect: maybe, hidden: yes }\n`,
      ),
      [
        "toolgate.yaml:4:35: upstreams.fs.stdio.args: must be a list of arguments (strings)",
        "toolgate.yaml:6:27: upstreams.fs.tools.read.sideEffect: must be read or write",
        "toolgate.yaml:6:42: upstreams.fs.tools.read.hidden: must be true or false",
      ],
    );
    assert.deepEqual(await errorLines(`${MINIMAL}version: 1.0\n`), [
      'toolgate.yaml:7:10: version: must be a string (quote a number: version: "1.0")',
    ]);
  });

  it("a missing required section", async () => {
    assert.deepEqual(await errorLines(STDIO_UPSTREAM), [
      "toolgate.yaml:1:1: auth: is required: configure exactly one of jwt, introspection, dev, or none: true (anonymous, loopback only)",
    ]);
    assert.deepEqual(await errorLines("auth:\n  none: true\n"), [
      "toolgate.yaml:1:1: upstreams: is required: list at least one upstream MCP server (a key with stdio: or url: under it)",
    ]);
    assert.deepEqual(await errorLines("auth:\n  none: true\nupstreams: {}\n"), [
      "toolgate.yaml:3:12: upstreams: must list at least one upstream MCP server",
    ]);
    assert.deepEqual(await errorLines(`auth: {}\n${STDIO_UPSTREAM}`), [
      "toolgate.yaml:1:7: auth: use exactly one of jwt, introspection, dev and none",
    ]);
  });

  it("two auth methods", async () => {
    assert.deepEqual(
      await errorLines(`auth:\n  none: true\n  dev: { keyFile: dev.json }\n${STDIO_UPSTREAM}`),
      [
        "toolgate.yaml:2:3: auth: use exactly one of jwt, introspection, dev and none (found dev and none)",
      ],
    );
  });

  it("anonymous access on a non-loopback host, saying why", async () => {
    assert.deepEqual(await errorLines(`${MINIMAL}listen: { host: 0.0.0.0 }\n`), [
      "toolgate.yaml:2:9: auth.none: anonymous access is only allowed when listen.host is a loopback " +
        "address (127.0.0.1, ::1 or localhost), and it is 0.0.0.0: anyone who can reach the gateway " +
        "could call every tool. Configure jwt, introspection or dev, or listen on 127.0.0.1",
    ]);
    for (const host of ["127.0.0.2", "::1", "localhost"]) {
      const { listen } = await load(`${MINIMAL}listen: { host: "${host}" }\n`);
      assert.equal(listen.host, host);
    }
  });

  it("both stdio and url, or neither", async () => {
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  fs:\n    stdio: { command: node }\n    url: http://127.0.0.1:4000/mcp\n`,
      ),
      ["toolgate.yaml:4:5: upstreams.fs: use exactly one of stdio and url (found stdio and url)"],
    );
    assert.deepEqual(
      await errorLines(`auth: { none: true }\nupstreams:\n  fs:\n    prefix: files\n`),
      ["toolgate.yaml:4:5: upstreams.fs: use exactly one of stdio and url"],
    );
  });

  it("a credential on a stdio upstream", async () => {
    assert.deepEqual(
      await errorLines(`${MINIMAL}    credential:\n      static: { env: TOKEN }\n`, { TOKEN: "x" }),
      [
        "toolgate.yaml:7:5: upstreams.fs.credential: applies to url upstreams only; give a stdio server its secrets in stdio.env",
      ],
    );
  });

  it("a static credential on the authorization header without a scheme is ambiguous", async () => {
    const web = (credential: string) =>
      `auth: { none: true }\nupstreams:\n  web:\n    url: https://x.example.com/mcp\n    credential:\n      static: ${credential}\n`;
    const env = { API_TOKEN: "t0k3n" };
    // Credential providers read their secrets from process.env (see the report on options).
    process.env.API_TOKEN = env.API_TOKEN;
    try {
      const expected =
        'upstreams.web.credential.static.scheme: is required with the authorization header: write scheme: Bearer to send "authorization: Bearer <the value of API_TOKEN>", ' +
        'or scheme: none when API_TOKEN holds the whole header value (such as "Basic dXNlcjpwYXNz")';
      assert.deepEqual(await errorLines(web("{ env: API_TOKEN }"), env), [
        `toolgate.yaml:6:7: ${expected}`,
      ]);
      assert.deepEqual(await errorLines(web("{ env: API_TOKEN, header: Authorization }"), env), [
        `toolgate.yaml:6:7: ${expected}`,
      ]);

      // Said explicitly, each form sends exactly what it says.
      const sent = async (credential: string) => {
        const { options, summary } = await load(web(credential), env);
        const headers = await options.upstreams.web?.credential?.headers({
          principal: { issuer: "", subject: "x", scopes: [], claims: {}, anonymous: false },
          subjectToken: undefined,
          scope: undefined,
          signal: AbortSignal.timeout(1000),
          backend: "web",
        });
        return { headers, summary: summary[0] };
      };
      assert.deepEqual(await sent("{ env: API_TOKEN, scheme: Bearer }"), {
        headers: { authorization: "Bearer t0k3n" },
        summary:
          'web: tools as web.<tool>; at https://x.example.com/mcp; sends "authorization: Bearer $API_TOKEN"',
      });
      assert.deepEqual(await sent("{ env: API_TOKEN, scheme: none }"), {
        headers: { authorization: "t0k3n" },
        summary:
          'web: tools as web.<tool>; at https://x.example.com/mcp; sends "authorization: $API_TOKEN"',
      });
      assert.deepEqual((await sent("{ env: API_TOKEN, header: x-api-key }")).headers, {
        "x-api-key": "t0k3n",
      });
    } finally {
      delete process.env.API_TOKEN;
    }
  });

  it("a bad duration", async () => {
    assert.deepEqual(
      await errorLines(`${MINIMAL}    timeout: 10 seconds\n    restart: { initialDelay: 0 }\n`),
      [
        "toolgate.yaml:7:14: upstreams.fs.timeout: must be a duration such as 10s or 500ms (ms, s, m or h; a bare integer is milliseconds)",
        "toolgate.yaml:8:30: upstreams.fs.restart.initialDelay: must be a duration such as 10s or 500ms (ms, s, m or h; a bare integer is milliseconds)",
      ],
    );
  });

  it("a bad URL", async () => {
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  web:\n    url: ftp://files.example.com/mcp\n`,
      ),
      ["toolgate.yaml:4:10: upstreams.web.url: must be an http:// or https:// URL"],
    );
    assert.deepEqual(
      await errorLines(
        `auth:\n  jwt:\n    issuer: https://auth.example.com/\n    audience: https://gw.example.com/mcp\n    jwksUrl: http://auth.example.com/jwks.json\n${STDIO_UPSTREAM}`,
      ),
      [
        "toolgate.yaml:5:14: auth.jwt.jwksUrl: must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1]: tokens and secrets travel to it)",
      ],
    );
  });

  it("an unset environment variable, at the line that uses it", async () => {
    assert.deepEqual(
      await errorLines(
        `${MINIMAL}      env:\n        API_KEY: "\${EVERYTHING_KEY}"\n        BOTH: "\${A}:\${B}"\n      args: ["\${BAD NAME}"]\n`,
      ),
      [
        "toolgate.yaml:8:18: upstreams.fs.stdio.env.API_KEY: environment variable EVERYTHING_KEY is not set",
        "toolgate.yaml:9:15: upstreams.fs.stdio.env.BOTH: environment variables A, B are not set",
        "toolgate.yaml:10:14: upstreams.fs.stdio.args[0]: ${BAD NAME} is not a variable reference: use ${NAME} or ${NAME:-default} (and $${ for a literal ${)",
      ],
    );
    assert.deepEqual(
      await errorLines(
        `auth:\n  introspection:\n    url: https://auth.example.com/introspect\n    clientId: gateway\n    clientSecretEnv: INTROSPECTION_SECRET\n    audience: https://gw.example.com/mcp\n${STDIO_UPSTREAM}`,
      ),
      [
        "toolgate.yaml:5:22: auth.introspection.clientSecretEnv: environment variable INTROSPECTION_SECRET is not set",
      ],
    );
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  web:\n    url: https://x.example.com/mcp\n    credential:\n      static:\n        env: UPSTREAM_TOKEN\n`,
      ),
      [
        "toolgate.yaml:7:14: upstreams.web.credential.static.env: environment variable UPSTREAM_TOKEN is not set",
      ],
    );
  });

  it("two upstreams with the same prefix", async () => {
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  files:\n    stdio: { command: a }\n  other:\n    stdio: { command: b }\n    prefix: files\n  files2:\n    stdio: { command: c }\n    prefix: files\n`,
      ),
      [
        "toolgate.yaml:7:13: upstreams.other.prefix: has the prefix 'files' of upstreams.files too: their tool names would collide",
        "toolgate.yaml:10:13: upstreams.files2.prefix: has the prefix 'files' of upstreams.files too: their tool names would collide",
      ],
    );
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  a:\n    stdio: { command: a }\n    prefix: b\n  b:\n    stdio: { command: b }\n`,
      ),
      [
        "toolgate.yaml:6:3: upstreams.b: has the prefix 'b' of upstreams.a too: their tool names would collide; give one a prefix",
      ],
    );
  });

  it("an invalid upstream name or prefix", async () => {
    assert.deepEqual(
      await errorLines(
        `auth: { none: true }\nupstreams:\n  my.server:\n    stdio: { command: a }\n    prefix: "a b"\n`,
      ),
      [
        "toolgate.yaml:3:3: upstreams[\"my.server\"]: is not a valid upstream name: it must be 1-32 letters, digits, '_' or '-' (no dots: tools are published as <prefix>.<tool>)",
        "toolgate.yaml:5:13: upstreams[\"my.server\"].prefix: must be 1-32 letters, digits, '_' or '-' (no dots: tools are published as <prefix>.<tool>)",
      ],
    );
  });

  it("constructor errors, at the setting they name", async () => {
    const jwks = writeConfig("x: 1", { "jwks.json": jwksJson() });
    const file = path.join(path.dirname(jwks), "toolgate.yaml");
    writeFileSync(
      file,
      `auth:\n  jwt:\n    issuer: https://auth.example.com/\n    audience: https://gw.example.com/mcp\n    jwksFile: jwks.json\n    algorithms: [HS256]\n${STDIO_UPSTREAM}`,
    );
    const error = await loadGatewayConfig(file, { env: {} }).catch((err: unknown) => err);
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues, [
      {
        file,
        line: 6,
        column: 17,
        path: "auth.jwt.algorithms",
        message:
          'algorithm "HS256" is HMAC: with public keys it allows alg confusion (RFC 8725 §2.1); it is refused.',
      },
    ]);

    process.env.TOOLGATE_TEST_HEADER_TOKEN = "t";
    try {
      assert.deepEqual(
        await errorLines(
          `auth: { none: true }\nupstreams:\n  web:\n    url: https://x.example.com/mcp\n    credential:\n      static: { env: TOOLGATE_TEST_HEADER_TOKEN, header: "bad header" }\n`,
          process.env,
        ),
        [
          "toolgate.yaml:6:58: upstreams.web.credential.static.header: header must be a valid HTTP header name.",
        ],
      );
    } finally {
      delete process.env.TOOLGATE_TEST_HEADER_TOKEN;
    }
  });

  it("a JWKS file that is missing or not a key set", async () => {
    const jwt = (file: string) =>
      `auth:\n  jwt:\n    issuer: https://auth.example.com/\n    audience: https://gw.example.com/mcp\n    jwksFile: ${file}\n${STDIO_UPSTREAM}`;
    const [line] = await errorLines(jwt("missing.json"));
    assert.match(
      line!,
      /^toolgate\.yaml:5:15: auth\.jwt\.jwksFile: cannot read \/.*\/missing\.json: no such file$/,
    );
  });

  it("the dev issuer under NODE_ENV=production", async () => {
    const [line] = await errorLines(`auth:\n  dev: { keyFile: dev.json }\n${STDIO_UPSTREAM}`, {
      NODE_ENV: "production",
    });
    assert.match(
      line!,
      /^toolgate\.yaml:2:8: auth\.dev: devIssuer\(\) is for development and tests; it refuses to run with NODE_ENV=production/,
    );
  });

  it("reports every issue of a file at once, in line order", async () => {
    assert.deepEqual(
      await errorLines(
        `listen:
  host: 0.0.0.0
  prot: 3000
auth:
  none: true
store: mongodb://db
defaultTimeout: forever
upstreams:
  fs:
    stdio:
      command: ""
    tools:
      read_file: { scopes: [files:read], sideEfect: read }
  web:
    url: http://127.0.0.1:4000/mcp
    credential:
      clientCredentials: { tokenUrl: https://auth.example.com/token, clientId: gw }
`,
      ),
      [
        "toolgate.yaml:3:3: listen.prot: unknown key: did you mean 'port'?",
        "toolgate.yaml:5:9: auth.none: anonymous access is only allowed when listen.host is a loopback address (127.0.0.1, ::1 or localhost), and it is 0.0.0.0: anyone who can reach the gateway could call every tool. Configure jwt, introspection or dev, or listen on 127.0.0.1",
        "toolgate.yaml:6:8: store: must be memory, sqlite:<path>, postgres://..., postgresql://..., redis://... or rediss://...",
        "toolgate.yaml:7:17: defaultTimeout: must be a duration such as 10s or 500ms (ms, s, m or h; a bare integer is milliseconds)",
        "toolgate.yaml:11:16: upstreams.fs.stdio.command: must be a non-empty string: the program that starts the MCP server",
        "toolgate.yaml:13:42: upstreams.fs.tools.read_file.sideEfect: unknown key: did you mean 'sideEffect'?",
        "toolgate.yaml:17:7: upstreams.web.credential.clientCredentials.clientSecretEnv: is required: the name of the environment variable holding the client secret (secrets never go in the file)",
      ],
    );
  });
});

describe("gateway config: any input", () => {
  // NODE_ENV=production: a generated `auth: { dev: ... }` is refused before it writes a key file.
  const env = { NODE_ENV: "production" };
  const settle = async (text: string) => {
    try {
      await parseGatewayConfig(text, { file: "toolgate.yaml", baseDir: root, env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) {
        assert.equal(typeof issue.message, "string");
        assert.ok(!issue.message.includes("\n"), issue.message);
      }
    }
  };

  it("gives a LoadedConfig or a ConfigError for arbitrary text", async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), settle), {
      numRuns: 300,
    });
  });

  it("gives a LoadedConfig or a ConfigError for any value anywhere in a valid file", async () => {
    const base = {
      listen: { host: "127.0.0.1", port: 3000 },
      auth: { none: true },
      audit: false,
      pinning: { refreshInterval: "1m" },
      upstreams: {
        fs: {
          stdio: { command: "node", args: ["x"], env: { A: "b" } },
          timeout: "1s",
          restart: { initialDelay: "1s" },
          defaults: { scopes: ["a"], sideEffect: "read" },
          tools: { t: { hidden: true, rateLimit: { perTool: "1/s" } } },
        },
        web: { url: "https://x.example.com/mcp" },
      },
    };
    const paths: string[][] = [];
    const collect = (value: unknown, at: string[]) => {
      paths.push(at);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const [key, item] of Object.entries(value)) collect(item, [...at, key]);
      }
    };
    collect(base, []);
    const replace = (value: unknown, at: string[], replacement: unknown): unknown => {
      if (at.length === 0) return replacement;
      const [head, ...rest] = at;
      return {
        ...(value as object),
        [head!]: replace((value as Record<string, unknown>)[head!], rest, replacement),
      };
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.constantFrom("${X}", "$${", "${", "10s", "", " "),
        ),
        (at, replacement) => settle(stringify(replace(base, at, replacement))),
      ),
      { numRuns: 300 },
    );
  });
});
