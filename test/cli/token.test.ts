import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { devIssuer } from "../../src/auth/dev-issuer.js";
import { REPO_ROOT } from "../helpers/process.js";

const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");
// Resolved here so a child whose cwd is a temp folder still finds tsx.
const TSX = import.meta.resolve("tsx");
const AUD = "http://127.0.0.1:3000/mcp";
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `toolgate ...args` as a child process and collects its output. */
function toolgate(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NODE_ENV: "test", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill(), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit 2, a message and the usage on stderr, nothing on stdout, no stack trace. */
function assertUsageError(run: Run, message: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, message);
  assert.match(run.stderr, /Usage: toolgate/);
  assert.doesNotMatch(run.stderr, /^ {4}at /m);
}

let dir: string;
let keyFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-cli-"));
  keyFile = path.join(dir, "keys", "dev-issuer.json");
  // What a dev server does on start: create the key file and record its URL.
  await devIssuer({ keyFile, audience: AUD });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("toolgate token", () => {
  it("prints one JWT alone, with the asked-for claims and lifetime", async () => {
    const run = await toolgate([
      "token",
      "--sub",
      "alice",
      "--scope",
      "orders:read refunds:write",
      "--ttl",
      "15m",
      "--key-file",
      keyFile,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.match(run.stdout, /\n$/);
    const token = run.stdout.trimEnd();
    assert.match(token, JWT);
    const claims = decodeJwt(token);
    assert.equal(claims.sub, "alice");
    assert.equal(claims.scope, "orders:read refunds:write");
    assert.equal(claims.aud, AUD);
    assert.equal(claims.exp! - claims.iat!, 900);
    assert.equal(decodeProtectedHeader(token).typ, "at+jwt");
    // A server using the same key file accepts it.
    const server = await devIssuer({ keyFile });
    const principal = await server.verifier(AUD).verify(token);
    assert.deepEqual(principal.scopes, ["orders:read", "refunds:write"]);
  });

  it("accepts 90s, 1h and plain seconds, and the optional claims", async () => {
    for (const [ttl, seconds] of [
      ["90s", 90],
      ["1h", 3600],
      ["120", 120],
    ] as const) {
      const run = await toolgate(
        ["token", "--sub", "bob", "--ttl", ttl, "--key-file", keyFile, "--tenant", "acme"].concat([
          "--client-id",
          "agent-7",
          "--audience",
          "http://127.0.0.1:4000/mcp",
        ]),
      );
      assert.equal(run.code, 0, run.stderr);
      const claims = decodeJwt(run.stdout.trim());
      assert.equal(claims.exp! - claims.iat!, seconds);
      assert.equal(claims.tenant, "acme");
      assert.equal(claims.client_id, "agent-7");
      assert.equal(claims.aud, "http://127.0.0.1:4000/mcp");
    }
  });

  it("prints an OAuth-style token response with --json", async () => {
    const run = await toolgate(
      ["token", "--sub", "alice", "--scope", "orders:read", "--ttl", "90s"].concat([
        "--key-file",
        keyFile,
        "--json",
      ]),
    );
    assert.equal(run.code, 0, run.stderr);
    const body = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      "access_token",
      "audience",
      "expires_in",
      "scope",
      "token_type",
    ]);
    assert.match(String(body.access_token), JWT);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 90);
    assert.equal(body.scope, "orders:read");
    assert.equal(body.audience, AUD);
  });

  it("uses .toolgate/dev-issuer.json under the working directory by default", async () => {
    const cwd = await mkdtemp(path.join(dir, "cwd-"));
    const run = await toolgate(["token", "--sub", "alice", "--audience", AUD], { cwd });
    assert.equal(run.code, 0, run.stderr);
    const created = await stat(path.join(cwd, ".toolgate", "dev-issuer.json"));
    if (process.platform !== "win32") assert.equal(created.mode & 0o777, 0o600);
  });

  it("shares one key between CLIs started at once on a fresh key file", async () => {
    const fresh = path.join(dir, "race", "dev-issuer.json");
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        toolgate(["token", "--sub", "alice", "--audience", AUD, "--key-file", fresh]),
      ),
    );
    const verifier = (await devIssuer({ keyFile: fresh })).verifier(AUD);
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      await verifier.verify(run.stdout.trim());
    }
  });

  it("refuses a lifetime over one hour (exit 2)", async () => {
    const run = await toolgate(["token", "--sub", "alice", "--ttl", "2h", "--key-file", keyFile]);
    assertUsageError(run, /--ttl 2h is longer than 1h/);
    assertUsageError(
      await toolgate(["token", "--sub", "alice", "--ttl", "soon", "--key-file", keyFile]),
      /not a duration/,
    );
  });

  it("requires --sub (exit 2)", async () => {
    assertUsageError(await toolgate(["token", "--key-file", keyFile]), /--sub is required/);
    assertUsageError(
      await toolgate(["token", "--sub", "--scope", "x", "--key-file", keyFile]),
      /--sub/,
    );
  });

  it("rejects unknown flags and stray arguments (exit 2)", async () => {
    assertUsageError(
      await toolgate(["token", "--sub", "alice", "--bogus", "--key-file", keyFile]),
      /Unknown option '--bogus'/,
    );
    assertUsageError(await toolgate(["token", "--sub", "alice", "extra"]), /Unexpected argument/);
  });

  it("says how to get an audience when none is known (exit 2)", async () => {
    const bare = path.join(dir, "bare", "dev-issuer.json");
    const run = await toolgate(["token", "--sub", "alice", "--key-file", bare]);
    assertUsageError(run, /start the server first.*or pass --audience/);
  });

  it("refuses to run with NODE_ENV=production (exit 1)", async () => {
    const run = await toolgate(["token", "--sub", "alice", "--key-file", keyFile], {
      env: { NODE_ENV: "production" },
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /refuses to run with NODE_ENV=production/);
    assert.doesNotMatch(run.stderr, /^ {4}at /m);
  });
});

describe("toolgate", () => {
  it("lists its commands with --help", async () => {
    const run = await toolgate(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: toolgate <command>/);
    assert.match(run.stdout, /^ {2}token /m);
    const token = await toolgate(["token", "--help"]);
    assert.equal(token.code, 0);
    assert.match(token.stdout, /--ttl DURATION/);
  });

  it("rejects an unknown command, or none (exit 2)", async () => {
    for (const args of [["tokn"], []]) {
      const run = await toolgate(args);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /Usage: toolgate <command>/);
      assert.doesNotMatch(run.stderr, /^ {4}at /m);
    }
  });
});
