// Hostile input: fast-check generates JSON-RPC envelopes, tool arguments, raw HTTP bodies
// and bearer tokens, and sends them (a dozen at a time, over keep-alive) to a toolgate
// server running as a child process (fixtures/hostile-server.ts); a few slowloris clients
// trickle headers and bodies at it. Every answer must keep the contract:
//
//   - HTTP 2xx carrying JSON-RPC messages (a tool result, a typed tool error from the
//     registry, or a JSON-RPC error), or HTTP 4xx with a JSON-RPC error body (no body only
//     where Node itself refuses malformed HTTP: 400, 408, 431); never a 5xx, except a typed
//     JSON-RPC internal error (500, -32603, no stack), which is tolerated but counted;
//   - never an `internal` tool error where the tool's model expects a result or a typed
//     refusal (an unexpected exception in the pipeline is a bug, even if well wrapped);
//   - what the documented guards and the tool's schema say it must be: 413 over the body
//     limit, 400 -32700 for bytes that are not JSON, 400 -32600 past 100 levels of nesting,
//     415 for another content type, 401/400 for a bad token, the exact result of the tool
//     for arguments that are valid once parsed (duplicated keys: the last one wins), an
//     `invalid_input` for arguments that cannot be valid;
//   - no stack trace, source path or secret (token, signing key) in any body;
//   - an answer within the request timeout plus a margin, and the server process alive.
//
// After the run a normal call still succeeds, no builtin prototype gained a property in
// the server, and its memory (RSS and heap after GC, measured, not assumed) grew less than
// the bounds below. Counts go to the reliability summary (report()); any leak fails.
//
// Replay a failure with the seed it prints: TOOLGATE_HOSTILE_SEED=<seed> npm run
// test:reliability -- test/reliability/hostile-input.test.ts
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isJsonContentType } from "@modelcontextprotocol/server";
import fc from "fast-check";
import { devIssuer } from "../../src/index.js";
import { ERROR_TYPES, isErrorType } from "../../src/errors/index.js";
import { MAX_JSON_DEPTH } from "../../src/server/http-server.js";
import { MCP_HEADERS } from "../helpers/http.js";
import { LineCollector, REPO_ROOT, minimalEnv, waitForExit } from "../helpers/process.js";
import { LEAK_MARKERS, assertNoLeak } from "../helpers/server.js";
import {
  HOSTILE_MAX_BODY_BYTES as MAX_BODY,
  HOSTILE_REQUEST_TIMEOUT_MS as REQUEST_TIMEOUT_MS,
  HOSTILE_SLOW_TOOL_TIMEOUT_MS,
  POLLUTION_KEYS,
  READ_SCOPE,
  WRITE_SCOPE,
  depthOf,
} from "./fixtures/hostile-limits.js";
import { PROFILE, byProfile, report } from "./summary.js";

const SUITE = "hostile-input";
const FIXTURE = fileURLToPath(new URL("./fixtures/hostile-server.ts", import.meta.url));

/** Fixed unless replaying: every family derives its seed from this one. */
const SEED = Number(process.env["TOOLGATE_HOSTILE_SEED"] ?? 20_261_124);
/**
 * Cases per family, multiples of ROUND (CI: 10 224 in all; full: 51 024), plus the
 * slowloris connections.
 */
const SIZES = byProfile(
  { envelopes: 2400, arguments: 4800, bodies: 2400, tokens: 624, slowloris: 12 },
  { envelopes: 12_000, arguments: 24_000, bodies: 12_000, tokens: 3024, slowloris: 60 },
);
/** Requests in flight at once (keep-alive sockets). */
const CONCURRENCY = 12;
/** Cases per fast-check run: one run sends its cases through CONCURRENCY workers. */
const ROUND = 48;
/** Node checks request timeouts this often (toolgate: requestTimeoutMs / 4, at least 250 ms). */
const CHECK_INTERVAL_MS = Math.max(250, Math.floor(REQUEST_TIMEOUT_MS / 4));
/**
 * Every answer must arrive within this. A hostile request is answered in milliseconds or
 * cut off at the request timeout (plus one check interval); 2.5 s more absorbs a loaded
 * 2-core machine.
 */
const ANSWER_BOUND_MS = REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 2500;
/**
 * Memory bounds, as growth over the level after the warm-up. The heap after a full GC is
 * checked after every family; RSS after the run. Live data per request is bounded by the
 * 64 KiB body limit (a few copies: bytes, string, parsed value, answer), so 12 requests in
 * flight hold a few MB, and the caches (verified tokens, compiled validators, the fixture's
 * map of keys, capped at 10 000) are bounded too: what survives a GC must not grow with
 * the number of requests. Measured: 2-5 MB (CI), up to 12 MB (full). 32 MB would catch a
 * retention of ~3 KB per request in the CI profile, ~0.6 KB in the full one. RSS also holds
 * free pages V8 and the allocator keep, and SQLite's page caches: measured 15-25 MB after
 * the run (transiently up to 140 MB right after a family in the full profile), bound 100 MB.
 */
const MAX_HEAP_GROWTH_MB = 32;
const MAX_RSS_GROWTH_MB = 100;

const TOOL_NAMES = [
  "lookup_order",
  "search",
  "inspect",
  "put_item",
  "put_note",
  "slow",
  "probe",
] as const;
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;

// ---------------------------------------------------------------------------------------
// The server under test, in its own process.

interface Child {
  process: ChildProcess;
  pid: number;
  url: string;
  port: number;
  stderr: LineCollector;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

let dir = "";
let server: Child;
let agent: Agent;
/** Bearer tokens by role, and every secret that must never appear in an answer. */
const tokens = { full: "", readOnly: "" };
const secrets: string[] = [];
/** Tokens that must be refused, by why (minted or forged in `before`). */
const badTokens: Record<string, string> = {};

async function startChild(): Promise<Child> {
  const proc = spawn(process.execPath, ["--expose-gc", "--import", "tsx", FIXTURE], {
    cwd: REPO_ROOT,
    env: minimalEnv({
      KEY_FILE: path.join(dir, "dev-issuer.json"),
      DATA_DIR: path.join(dir, "data"),
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new LineCollector(proc.stdout);
  const stderr = new LineCollector(proc.stderr);
  const child: Child = {
    process: proc,
    pid: proc.pid ?? 0,
    url: "",
    port: 0,
    stderr,
    exit: undefined,
  };
  proc.once("exit", (code, signal) => (child.exit = { code, signal }));
  const line = await stdout.waitForLine(
    (l) => l.startsWith('{"listening"'),
    60_000,
    "the listening line",
  );
  const { listening, pid } = JSON.parse(line) as { listening: string; pid: number };
  child.url = listening;
  child.port = Number(new URL(listening).port);
  child.pid = pid;
  return child;
}

function assertAlive(where: string): void {
  if (server.exit) {
    assert.fail(
      `the server process exited (${JSON.stringify(server.exit)}) ${where}; its stderr:\n` +
        server.stderr.text.slice(-4000),
    );
  }
}

/** The server's resident set size in bytes (/proc), or undefined off Linux. */
function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-hostile-"));
  server = await startChild();
  agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });

  const keyFile = path.join(dir, "dev-issuer.json");
  const issuer = await devIssuer({ keyFile, env: {} });
  const audience = server.url;
  tokens.full = await issuer.mint({
    sub: "fuzzer",
    scope: [READ_SCOPE, WRITE_SCOPE],
    audience,
    ttlSec: 3600,
  });
  tokens.readOnly = await issuer.mint({
    sub: "reader",
    scope: [READ_SCOPE],
    audience,
    ttlSec: 3600,
  });
  const [header, payload, signature] = tokens.full.split(".") as [string, string, string];
  badTokens["wrong audience"] = await issuer.mint({
    sub: "fuzzer",
    scope: READ_SCOPE,
    audience: "http://127.0.0.1:1/mcp",
  });
  const past = await devIssuer({ keyFile, env: {}, now: () => Date.now() - 2 * 3600_000 });
  badTokens["expired"] = await past.mint({
    sub: "fuzzer",
    scope: READ_SCOPE,
    audience,
    ttlSec: 60,
  });
  badTokens["alg none"] = `${b64url({ alg: "none", typ: "at+jwt" })}.${payload}.`;
  badTokens["HS256"] = `${b64url({ alg: "HS256", typ: "at+jwt" })}.${payload}.${signature}`;
  badTokens["no signature"] = `${header}.${payload}.`;
  badTokens["two parts"] = `${header}.${payload}`;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<
    string,
    unknown
  >;
  badTokens["payload swapped"] = `${header}.${b64url({ ...claims, sub: "admin" })}.${signature}`;
  badTokens["signature of another token"] = `${header}.${payload}.${tokens.readOnly.split(".")[2]}`;

  for (const token of [tokens.full, tokens.readOnly]) {
    secrets.push(token, ...token.split(".").slice(1));
  }
  // The private signing key (the JWK `d`) and nothing else of the key file.
  const keyText = readFileSync(keyFile, "utf8");
  for (const match of keyText.matchAll(/"d"\s*:\s*"([A-Za-z0-9_-]{20,})"/g))
    secrets.push(match[1]!);
  assert.ok(secrets.length >= 5, "the signing key's private part was found in the key file");
});

after(async () => {
  agent?.destroy();
  if (server && !server.exit) {
    server.process.kill("SIGTERM");
    await waitForExit(server.process, 10_000).catch(() => undefined);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Sending: one request, with the framing a case asks for, bounded by ANSWER_BOUND_MS.

interface Req {
  method?: string;
  /** Path and query. Default /mcp. */
  path?: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * length: Content-Length of the body (unless the headers set one); chunked: the body in
   * `chunks` pieces with Transfer-Encoding: chunked; declared: the headers' Content-Length
   * with only `body` sent and the request never finished (the server must answer anyway).
   */
  framing?: "length" | "chunked" | "declared";
  chunks?: number;
  /** A connection of its own (framing a keep-alive connection must not be reused after). */
  fresh?: boolean;
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

const traffic = { calls: 0, retries: 0 };

function send(req: Req, retry = true): Promise<Res> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string> = { host: `127.0.0.1:${server.port}`, ...req.headers };
    const body = req.body ?? Buffer.alloc(0);
    const framing = req.framing ?? "length";
    const hasLength = Object.keys(headers).some((k) => k.toLowerCase() === "content-length");
    if (framing === "length" && !hasLength && req.method !== "GET" && req.method !== "HEAD") {
      headers["content-length"] = String(body.length);
    }
    if (framing === "chunked") headers["transfer-encoding"] = "chunked";
    traffic.calls++;
    const out = request({
      host: "127.0.0.1",
      port: server.port,
      method: req.method ?? "POST",
      path: req.path ?? "/mcp",
      headers,
      setHost: false,
      agent: req.fresh || framing === "declared" ? false : agent,
    });
    let answered = false;
    const timer = setTimeout(
      () => out.destroy(new Error(`no answer within ${ANSWER_BOUND_MS} ms`)),
      ANSWER_BOUND_MS,
    );
    out.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        if (framing === "declared") out.destroy();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          ms: performance.now() - started,
        });
      });
      res.on("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`the answer was cut off: ${error.message}`));
      });
    });
    out.on("error", (error: NodeJS.ErrnoException) => {
      // After the answer, the server closing mid-body (413) is expected.
      if (answered) return;
      clearTimeout(timer);
      // A keep-alive socket the server closed just as it was reused (Node's documented race).
      if (retry && out.reusedSocket && error.code === "ECONNRESET") {
        traffic.retries++;
        send(req, false).then(resolve, reject);
        return;
      }
      reject(new Error(`no answer: ${error.message}`));
    });
    if (framing === "declared") {
      out.flushHeaders();
      if (body.length > 0) out.write(body);
    } else if (framing === "chunked") {
      const pieces = Math.max(1, req.chunks ?? 2);
      const size = Math.ceil(body.length / pieces) || 1;
      for (let i = 0; i < body.length; i += size) out.write(body.subarray(i, i + size));
      out.end();
    } else {
      out.end(body);
    }
  });
}

// ---------------------------------------------------------------------------------------
// What an answer may be: the contract every answer keeps, and what a case expects.

type Accept =
  /** This HTTP status with a JSON-RPC error body (of this code, if given). */
  | {
      kind: "http";
      status: number;
      rpc?: number;
      /** A 401/400 from auth: a `WWW-Authenticate: Bearer ... resource_metadata=` header. */
      challenge?: boolean;
      /** Node's own refusal of a malformed request: no body at all. */
      bare?: boolean;
    }
  /** A successful tools/call result with exactly this structuredContent. */
  | { kind: "ok"; value: unknown }
  /** A tools/call result with isError and one of these error types. */
  | { kind: "toolError"; types: readonly string[] }
  /** A single JSON-RPC error of this code (HTTP 200 as an SSE event, or 400). */
  | { kind: "rpc"; code: number }
  /** Anything that keeps the generic contract. */
  | { kind: "any" };

interface Case {
  family: string;
  /** Short, for failure messages: the kind of hostility and where it is. */
  label: string;
  req: Req;
  accept: readonly Accept[];
}

type HttpAccept = Extract<Accept, { kind: "http" }>;
const http = (
  status: number,
  rpc?: number,
  extra: Pick<HttpAccept, "challenge" | "bare"> = {},
): Accept => ({ kind: "http", status, ...(rpc === undefined ? {} : { rpc }), ...extra });
const ok = (value: unknown): Accept => ({ kind: "ok", value });
const toolError = (...types: string[]): Accept => ({ kind: "toolError", types });
const ANY: Accept = { kind: "any" };
/** True once in `n` draws. */
const oneIn = (n: number) => fc.integer({ min: 1, max: n }).map((i) => i === 1);

const CHALLENGE = /^Bearer\b.*resource_metadata="[^"]+"/;
const STACK_PATTERNS = [
  /(?:\n|\\n)\s*at [^\n]*?:\d+:\d+/,
  /node:internal/,
  /\((?:file:\/\/)?\/[^()\s]+:\d+:\d+\)/,
];

interface Stats {
  cases: number;
  leaks: number;
  leakExamples: string[];
  statuses: Map<number, number>;
  errorTypes: Map<string, number>;
  latencies: number[];
  typed500: number;
  violationCount: number;
  /** Violations by kind (the case label without its numbers): how many, and the first. */
  violations: Map<string, { count: number; example: string }>;
}

const newStats = (): Stats => ({
  cases: 0,
  leaks: 0,
  leakExamples: [],
  statuses: new Map(),
  errorTypes: new Map(),
  latencies: [],
  typed500: 0,
  violationCount: 0,
  violations: new Map(),
});

function recordViolation(stats: Stats, c: Case, message: string): void {
  stats.violationCount++;
  const problem = message
    .slice(c.label.length + 2)
    .split("\n")[0]!
    .replace(/\d+/g, "#")
    .slice(0, 120);
  let kind = `${c.label.replace(/\d+/g, "#").slice(0, 100)} -> ${problem}`;
  if (!stats.violations.has(kind) && stats.violations.size >= 40) kind = "(other kinds)";
  const seen = stats.violations.get(kind);
  if (seen) seen.count++;
  else stats.violations.set(kind, { count: 1, example: message });
}

const bump = (map: Map<string | number, number>, key: string | number) =>
  map.set(key, (map.get(key) ?? 0) + 1);

const cut = (text: string, n = 400) =>
  text.length > n ? `${text.slice(0, n)}... (${text.length} chars)` : text;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A stack marker, source path or secret in `answer` that the request did not carry itself. */
function findLeak(answer: string, requestText: string): string | undefined {
  for (const secret of secrets)
    if (answer.includes(secret)) return `secret ${secret.slice(0, 12)}...`;
  for (const marker of LEAK_MARKERS) {
    if (answer.includes(marker) && !requestText.includes(marker)) return JSON.stringify(marker);
  }
  for (const pattern of STACK_PATTERNS) {
    const match = pattern.exec(answer);
    if (match && !requestText.includes(match[0])) return JSON.stringify(match[0]);
  }
  return undefined;
}

/** The JSON-RPC messages of an answer, checking their shape; throws on a contract violation. */
function messagesOf(res: Res, req: Req, bareAllowed: boolean): unknown[] {
  const type = String(res.headers["content-type"] ?? "");
  if (res.body === "") {
    if (res.status === 202 || req.method === "HEAD" || bareAllowed) return [];
    throw new Error(`HTTP ${res.status} with an empty body`);
  }
  let messages: unknown[];
  if (type.startsWith("text/event-stream")) {
    if (res.status < 200 || res.status > 299)
      throw new Error(`an SSE stream with HTTP ${res.status}`);
    const data = res.body.split("\n").filter((line) => line.startsWith("data:"));
    messages = data.map((line) => JSON.parse(line.slice(5)) as unknown);
    if (messages.length === 0) throw new Error("an SSE stream without a message");
  } else if (type.startsWith("application/json")) {
    const parsed = JSON.parse(res.body) as unknown;
    messages = Array.isArray(parsed) ? parsed : [parsed];
  } else {
    throw new Error(`a body of content type ${JSON.stringify(type)}`);
  }
  for (const message of messages) {
    if (!isObject(message) || message["jsonrpc"] !== "2.0") {
      throw new Error(`not a JSON-RPC 2.0 message: ${cut(JSON.stringify(message), 200)}`);
    }
    if ("error" in message) {
      const error = message["error"];
      if (
        !isObject(error) ||
        !Number.isInteger(error["code"]) ||
        typeof error["message"] !== "string"
      ) {
        throw new Error(`a malformed JSON-RPC error: ${cut(JSON.stringify(error), 200)}`);
      }
    } else if (!("result" in message) && typeof message["method"] !== "string") {
      throw new Error(
        `neither result, error nor notification: ${cut(JSON.stringify(message), 200)}`,
      );
    }
  }
  return messages;
}

/** The error contract on a tools/call result with isError; returns its type. */
function checkToolError(result: Record<string, unknown>): string {
  const sc = result["structuredContent"];
  const error = isObject(sc) ? sc["error"] : undefined;
  if (!isObject(error)) throw new Error("isError without structuredContent.error");
  const type = error["type"];
  if (!isErrorType(type)) throw new Error(`unknown error type ${JSON.stringify(type)}`);
  if (typeof error["message"] !== "string" || error["message"] === "") {
    throw new Error("a tool error without a message");
  }
  if (error["retryable"] !== ERROR_TYPES[type].retryable) {
    throw new Error(`${type} with retryable ${String(error["retryable"])}`);
  }
  if (type === "internal") {
    if (error["message"] !== ERROR_TYPES.internal.message)
      throw new Error("internal: not the generic message");
    if (typeof error["incidentId"] !== "string") throw new Error("internal: no incidentId");
  }
  const content = result["content"];
  const first = Array.isArray(content) ? (content[0] as unknown) : undefined;
  if (!isObject(first) || first["text"] !== JSON.stringify(sc)) {
    throw new Error("content[0].text is not the JSON of structuredContent");
  }
  return type;
}

function matches(accept: Accept, res: Res, messages: unknown[]): boolean {
  const single = messages.length === 1 && isObject(messages[0]) ? messages[0] : undefined;
  const result = single && isObject(single["result"]) ? single["result"] : undefined;
  const error = single && isObject(single["error"]) ? single["error"] : undefined;
  switch (accept.kind) {
    case "any":
      return true;
    case "http": {
      if (res.status !== accept.status) return false;
      if (accept.challenge && !CHALLENGE.test(String(res.headers["www-authenticate"] ?? "")))
        return false;
      if (messages.length === 0) return accept.bare === true;
      return accept.rpc === undefined || error?.["code"] === accept.rpc;
    }
    case "rpc":
      return (res.status === 200 || res.status === 400) && error?.["code"] === accept.code;
    case "ok":
      if (res.status !== 200 || !result || result["isError"] === true) return false;
      try {
        // As JSON carries it (-0 arrives as 0).
        assert.deepStrictEqual(
          result["structuredContent"],
          JSON.parse(JSON.stringify(accept.value)),
        );
        return true;
      } catch {
        return false;
      }
    case "toolError": {
      if (res.status !== 200 || !result || result["isError"] !== true) return false;
      const sc = result["structuredContent"];
      const type = isObject(sc) && isObject(sc["error"]) ? sc["error"]["type"] : undefined;
      return typeof type === "string" && accept.types.includes(type);
    }
  }
}

/** The id a single request carries that its answer must echo (string or safe integer). */
function requestId(body: Buffer | undefined): string | number | undefined {
  if (!body) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed["jsonrpc"] !== "2.0" || typeof parsed["method"] !== "string")
    return undefined;
  const id = parsed["id"];
  return typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id))
    ? id
    : undefined;
}

/** Checks one answer against the contract and the case; throws on a violation, counts leaks. */
function checkAnswer(c: Case, res: Res, stats: Stats): void {
  stats.latencies.push(res.ms);
  bump(stats.statuses, res.status);
  const requestText = `${c.req.path ?? ""} ${JSON.stringify(c.req.headers)} ${c.req.body?.toString("utf8") ?? ""}`;
  const leak = findLeak(`${JSON.stringify(res.headers)}\n${res.body}`, requestText);
  if (leak) {
    stats.leaks++;
    if (stats.leakExamples.length < 3)
      stats.leakExamples.push(`${c.label}: ${leak} in ${cut(res.body, 600)}`);
  }
  const fail = (problem: string): never => {
    throw new Error(
      `${c.label}: ${problem}\n  answer: HTTP ${res.status} ${cut(res.body, 700)}\n` +
        `  request: ${c.req.method ?? "POST"} ${c.req.path ?? "/mcp"} ${cut(c.req.body?.toString("utf8") ?? "", 300)}`,
    );
  };
  if (res.status >= 500) {
    // A typed JSON-RPC internal error without stack is tolerated (the suite's contract), but counted.
    const typed = res.status === 500 && /"code":-32603/.test(res.body);
    if (!typed) fail(`HTTP ${res.status}`);
    stats.typed500++;
  } else if (
    !(res.status >= 200 && res.status <= 299) &&
    !(res.status >= 400 && res.status <= 499)
  ) {
    fail(`HTTP ${res.status}`);
  }
  const bareAllowed = c.accept.some((a) => a.kind === "http" && a.bare === true);
  let messages: unknown[];
  try {
    messages = messagesOf(res, c.req, bareAllowed);
  } catch (error) {
    return fail((error as Error).message);
  }
  const id = requestId(c.req.body);
  for (const message of messages) {
    if (!isObject(message)) continue;
    if (id !== undefined && "id" in message && message["id"] !== id && message["id"] !== null) {
      fail(`answered id ${JSON.stringify(message["id"])} to request id ${JSON.stringify(id)}`);
    }
    const result = message["result"];
    if (isObject(result) && result["isError"] === true) {
      try {
        bump(stats.errorTypes, checkToolError(result));
      } catch (error) {
        fail((error as Error).message);
      }
    }
  }
  if (!c.accept.some((a) => matches(a, res, messages))) {
    fail(`expected ${JSON.stringify(c.accept).slice(0, 500)}`);
  }
}

// ---------------------------------------------------------------------------------------
// What the server must answer, from its documented guards in the order it applies them:
// path, Host/Origin, token, method, content type, body size, JSON, nesting, then the call.

function headerOf(req: Req, name: string): string | undefined {
  const key = Object.keys(req.headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : req.headers[key];
}

interface Guards {
  /** What Host/Origin/auth refuse with, when they refuse (decided by the generator). */
  refusal?: readonly Accept[];
}

/** Every key and leaf of a parsed JSON value (iterative: bodies nest thousands deep). */
function* walkJson(value: unknown): Generator<{ key?: string; leaf?: unknown }> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) {
      yield { leaf: node };
      continue;
    }
    for (const key of Object.keys(node)) {
      yield { key };
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** An own `__proto__` key anywhere in a parsed JSON value. */
function protoKeyIn(value: unknown): boolean {
  for (const { key } of walkJson(value)) if (key === "__proto__") return true;
  return false;
}

/** A non-finite number, a lone surrogate (value or key) or a `__proto__` key anywhere. */
function notPlainJson(value: unknown): boolean {
  for (const { key, leaf } of walkJson(value)) {
    if (key !== undefined && (key === "__proto__" || LONE_SURROGATE.test(key))) return true;
    if (typeof leaf === "number" && !Number.isFinite(leaf)) return true;
    if (typeof leaf === "string" && LONE_SURROGATE.test(leaf)) return true;
  }
  return false;
}

function predict(req: Req, base: readonly Accept[], guards: Guards = {}): readonly Accept[] {
  const url = new URL(req.path ?? "/mcp", "http://localhost");
  if (url.pathname !== "/mcp") {
    if (url.pathname === "/healthz" && req.method === "GET") return [http(200)];
    return [http(404, INVALID_REQUEST)];
  }
  if (guards.refusal) return guards.refusal;
  const method = req.method ?? "POST";
  if (method !== "POST")
    return [http(405, INVALID_REQUEST, method === "HEAD" ? { bare: true } : {})];
  if (!isJsonContentType(headerOf(req, "content-type") ?? null))
    return [http(415, INVALID_REQUEST)];
  const body = req.body ?? Buffer.alloc(0);
  const declared = Number(headerOf(req, "content-length"));
  if ((Number.isFinite(declared) && declared > MAX_BODY) || body.length > MAX_BODY) {
    return [http(413, INVALID_REQUEST)];
  }
  const sent =
    Number.isFinite(declared) && declared < body.length ? body.subarray(0, declared) : body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(sent.toString("utf8"));
  } catch {
    return [http(400, PARSE_ERROR)];
  }
  if (depthOf(parsed) > MAX_JSON_DEPTH) return [http(400, INVALID_REQUEST)];
  return base;
}

// ---------------------------------------------------------------------------------------
// Raw JSON text: what JSON.stringify cannot write (duplicated keys, `__proto__` as an own
// key, numbers like 1e999) is built as text, so the server parses exactly these bytes.

class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return `RawJson(${cut(this.text, 60)})`;
  }
}

/** An object written with exactly these entries, in order (keys may repeat). */
class Entries {
  constructor(readonly entries: readonly (readonly [string, unknown])[]) {}
  toString(): string {
    return `Entries(${this.entries.map(([k]) => k).join(",")})`;
  }
}

function render(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Entries) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${render(v)}`).join(",")}}`;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : render(v))).join(",")}]`;
  if (isObject(value)) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value))
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${render(v)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** A copy of `value` (plain objects) with `replacement` at `at`, creating objects on the way. */
function setAt(value: unknown, at: readonly string[], replacement: unknown): unknown {
  if (at.length === 0) return replacement;
  const [head, ...rest] = at as [string, ...string[]];
  const base = isObject(value) ? value : {};
  return { ...base, [head]: setAt(base[head], rest, replacement) };
}

/** Adds entries (possibly `__proto__`, possibly repeated keys) to the object at `at`. */
function addEntries(
  value: unknown,
  at: readonly string[],
  extra: readonly (readonly [string, unknown])[],
): unknown {
  if (at.length === 0) {
    const own =
      value instanceof Entries ? value.entries : isObject(value) ? Object.entries(value) : [];
    return new Entries([...own, ...extra]);
  }
  const [head, ...rest] = at as [string, ...string[]];
  const base = isObject(value) ? value : {};
  return { ...base, [head]: addEntries(base[head], rest, extra) };
}

const envelopeFor = (id: number | string, name: unknown, args: unknown, meta?: unknown) =>
  new Entries([
    ["jsonrpc", "2.0"],
    ["id", id],
    ["method", "tools/call"],
    [
      "params",
      new Entries([
        ["name", name],
        ["arguments", args],
        ...(meta === undefined ? [] : [["_meta", meta] as const]),
      ]),
    ],
  ]);

// ---------------------------------------------------------------------------------------
// Models of the fixture's tools: for arguments as the server parses them, the result a
// valid call must return (or the typed error it must fail with). A model that throws
// means the arguments cannot be valid.

interface ToolModel {
  /** Valid arguments (a write tool's include a fresh idempotency key). */
  valid: fc.Arbitrary<Record<string, unknown>>;
  strings: readonly (readonly string[])[];
  numbers: readonly (readonly string[])[];
  /** Objects where keys can be added ([] is the arguments object); strict ones refuse extras. */
  objects: readonly { at: readonly string[]; strict: boolean }[];
  /** Whether the typed fields above are checked (false: free-form, anything goes). */
  strict: boolean;
  outcome(args: Record<string, unknown>): Accept;
}

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error("not a string");
  return v;
};

/** Strings whose JS length (UTF-16 units, as zod counts) is within [min, max]. */
const jsString = (min: number, max: number) =>
  fc
    .string({ unit: "binary", minLength: min, maxLength: max })
    .filter((s) => s.length >= min && s.length <= max);

const MODELS: Record<string, ToolModel> = {
  lookup_order: {
    valid: fc.record(
      {
        id: fc
          .tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 0, max: 99_999 }))
          .map(([y, n]) => `INV-${y}-${String(n).padStart(5, "0")}`),
        include: fc.array(fc.constantFrom("items", "payments", "notes"), { maxLength: 3 }),
      },
      { requiredKeys: ["id"] },
    ),
    strings: [["id"]],
    numbers: [],
    objects: [{ at: [], strict: true }],
    strict: true,
    outcome: (args) => {
      const id = str(args["id"]);
      if (!/^INV-\d{4}-\d{5}$/.test(id)) throw new Error("bad id");
      if (id.endsWith("0")) return toolError("not_found");
      return ok({ id, include: args["include"] ?? [], total: 42 });
    },
  },
  search: {
    valid: fc.record(
      {
        query: jsString(1, 200),
        limit: fc.integer({ min: 1, max: 50 }),
        filters: fc.record(
          {
            status: fc.constantFrom("open", "paid", "refunded"),
            minTotal: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
            tags: fc.array(jsString(0, 32), { maxLength: 8 }),
            range: fc.record({ from: jsString(0, 32), to: jsString(0, 32) }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ["query"] },
    ),
    strings: [["query"], ["filters", "status"], ["filters", "range", "from"], ["filters", "tags"]],
    numbers: [["limit"], ["filters", "minTotal"]],
    objects: [
      { at: [], strict: true },
      { at: ["filters"], strict: true },
      { at: ["filters", "range"], strict: true },
    ],
    strict: true,
    outcome: (args) => {
      const query = str(args["query"]);
      const filters = (args["filters"] ?? {}) as Record<string, unknown>;
      const tags = filters["tags"];
      return ok({
        queryLength: query.length,
        limit: args["limit"] ?? 10,
        filterKeys: Object.keys(filters).sort(),
        tags: Array.isArray(tags) ? tags.length : 0,
      });
    },
  },
  inspect: {
    valid: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 }), {
      maxKeys: 8,
    }),
    strings: [["text"], ["nested", "text"]],
    numbers: [["n"], ["nested", "n"]],
    objects: [
      { at: [], strict: false },
      { at: ["nested"], strict: false },
    ],
    strict: false,
    outcome: (args) =>
      ok({
        keys: Object.keys(args).length,
        ownProto: Object.hasOwn(args, "__proto__"),
        ownConstructor: Object.hasOwn(args, "constructor"),
        depth: depthOf(args),
        clean: true,
      }),
  },
  put_item: {
    valid: fc.record(
      {
        sku: fc.stringMatching(/^[A-Z0-9-]{1,32}$/),
        qty: fc.integer({ min: 1, max: 100 }),
        note: jsString(0, 120),
        idempotency_key: fc.uuid(),
      },
      { requiredKeys: ["sku", "qty", "idempotency_key"] },
    ),
    strings: [["sku"], ["note"], ["idempotency_key"]],
    numbers: [["qty"]],
    objects: [{ at: [], strict: true }],
    strict: true,
    outcome: (args) => ok({ sku: str(args["sku"]), qty: args["qty"], executions: 1 }),
  },
  put_note: {
    valid: fc.record(
      {
        text: jsString(0, 300),
        amount: fc.double({ noNaN: true, noDefaultInfinity: true }),
        tags: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), {
          maxKeys: 5,
        }),
        idempotency_key: fc.uuid(),
      },
      { requiredKeys: ["text", "idempotency_key"] },
    ),
    strings: [["text"], ["idempotency_key"]],
    numbers: [["amount"]],
    objects: [
      { at: [], strict: true },
      { at: ["tags"], strict: false },
    ],
    strict: true,
    outcome: (args) => {
      const tags = args["tags"];
      if (args["amount"] !== undefined && typeof args["amount"] !== "number")
        throw new Error("amount");
      if (tags !== undefined && !isObject(tags)) throw new Error("tags");
      return ok({
        textLength: str(args["text"]).length,
        tagKeys: Object.keys(tags ?? {}).length,
        executions: 1,
      });
    },
  },
  slow: {
    // Well clear of the 300 ms deadline either way: done, or timed out.
    valid: fc.record({
      ms: fc.oneof(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: HOSTILE_SLOW_TOOL_TIMEOUT_MS + 300, max: 3000 }),
      ),
    }),
    strings: [],
    numbers: [["ms"]],
    objects: [{ at: [], strict: true }],
    strict: true,
    outcome: (args) => {
      const ms = args["ms"];
      if (typeof ms !== "number") throw new Error("not a number");
      return ms <= 100 ? ok({ slept: ms }) : toolError("timeout");
    },
  },
};
const FUZZED_TOOLS = Object.keys(MODELS);

/** What a tools/call with these (parsed) arguments must answer. */
function callOutcome(
  name: unknown,
  args: unknown,
  certainty: "valid" | "invalid" | "either",
): Accept[] {
  if (typeof name !== "string" || !(TOOL_NAMES as readonly string[]).includes(name)) {
    return typeof name === "string"
      ? [toolError("not_found")]
      : [{ kind: "rpc", code: INVALID_PARAMS }];
  }
  // Not an object: the SDK's request validation refuses it (README, Known limits).
  if (args !== undefined && !isObject(args)) return [{ kind: "rpc", code: INVALID_PARAMS }];
  const model = MODELS[name];
  if (!model) return [ANY];
  const invalid = toolError("invalid_input");
  if (certainty === "invalid") return [invalid];
  let expected: Accept | undefined;
  try {
    expected = model.outcome(args ?? {});
  } catch {
    expected = undefined;
  }
  if (certainty === "valid") {
    if (!expected)
      throw new Error(`the model of ${name} refuses arguments the generator made valid`);
    return [expected];
  }
  return expected ? [expected, invalid] : [invalid];
}

// ---------------------------------------------------------------------------------------
// Generators.

const AUTH = () => ({ authorization: `Bearer ${tokens.full}` });
const NAN_LIKE = [
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "+Infinity",
  "-0",
  "0x10",
  "1e999",
  "1_000",
  " 1",
  "",
  "null",
  "undefined",
  "١",
  "𝟏",
  "1,5",
];
const RAW_NUMBERS = [
  "1e999",
  "-1e999",
  "-0",
  "1e-400",
  "0.1e1",
  "5e0",
  "1E2",
  "-0.0",
  "123456789012345678901234567890",
  "4.000000000000001",
  "1.0",
];
const PROTO_KEYS = ["__proto__", "constructor", "prototype"] as const;
const LONE_SURROGATES = ["\ud800", "\udfff", "\ud800\ud800", "a\udc00b", "\udbff", "\udc00\ud800"];
const HUGE_UNITS = ["a", "é", "😀", "\u0000", "\\", '"', "\u2028", "€"];
/** Byte sequences that are not UTF-8: stray, overlong, surrogate, truncated, out of range. */
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xf4, 0x90, 0x80, 0x80],
];
/** Stands for raw bytes in a rendered body (ASCII, so it survives JSON.stringify as is). */
const BYTES_PLACEHOLDER = "@@raw-bytes@@";
const OBJECT_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
  "__defineGetter__",
];

/** A value that tries to plant POLLUTION_KEYS on a prototype when merged carelessly. */
const pollutionPayload = fc.oneof(
  fc.constantFrom(...POLLUTION_KEYS).map((k) => new Entries([[k, "yes"]])),
  fc
    .constantFrom(...POLLUTION_KEYS)
    .map((k) => new Entries([["prototype", new Entries([[k, true]])]])),
  fc
    .constantFrom(...POLLUTION_KEYS)
    .map((k) => new Entries([["__proto__", new Entries([[k, 1]])]])),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Nested arrays/objects `depth` levels deep, as text (no recursion anywhere). */
function nested(depth: number, shape: "array" | "object" | "mixed"): RawJson {
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    const array = shape === "array" || (shape === "mixed" && i % 2 === 0);
    open += array ? "[" : '{"a":';
    close = (array ? "]" : "}") + close;
  }
  return new RawJson(`${open}1${close}`);
}

interface ArgCase {
  kind: string;
  tool: string;
  args: unknown;
  certainty: "valid" | "invalid" | "either";
  /** Outcomes a key shared with other calls adds (conflict, in progress). */
  reused?: boolean;
  /** Bytes that replace BYTES_PLACEHOLDER in the body (invalid UTF-8). */
  bytes?: readonly number[];
  sdkPath: boolean;
  id: number;
}

type Mutation = Omit<ArgCase, "sdkPath" | "id">;

function mutations(name: string): fc.Arbitrary<Mutation> {
  const model = MODELS[name]!;
  const strings = model.strings.length > 0 ? model.strings : [["text"]];
  const numbers = model.numbers.length > 0 ? model.numbers : [["n"]];
  const objects = model.objects;
  const base = model.valid;
  const at = (paths: readonly (readonly string[])[]) => fc.constantFrom(...paths);
  const strict = model.strict;
  const kinds: fc.Arbitrary<Mutation>[] = [
    base.map((args) => ({ kind: "valid", tool: name, args, certainty: "valid" as const })),
    fc
      .tuple(base, at([...strings, ...numbers]), fc.jsonValue({ maxDepth: 3 }))
      .map(([args, p, v]) => ({
        kind: `wrong type at /${p.join("/")}`,
        tool: name,
        args: setAt(args, p, v),
        certainty: "either" as const,
      })),
    fc.tuple(base, at(numbers), fc.constantFrom(...NAN_LIKE)).map(([args, p, v]) => ({
      kind: `NaN-like ${JSON.stringify(v)} at /${p.join("/")}`,
      tool: name,
      args: setAt(args, p, v),
      certainty: strict ? ("invalid" as const) : ("valid" as const),
    })),
    fc.tuple(base, at(numbers), fc.constantFrom(...RAW_NUMBERS)).map(([args, p, v]) => ({
      kind: `number ${v} at /${p.join("/")}`,
      tool: name,
      args: setAt(args, p, new RawJson(v)),
      certainty: strict ? ("either" as const) : ("valid" as const),
    })),
    fc
      .tuple(
        base,
        at([...strings, ...numbers]),
        fc.oneof(
          fc.integer({ min: 1, max: 130 }),
          fc.integer({ min: 90, max: 110 }),
          fc.integer({ min: 130, max: 5000 }),
        ),
        fc.constantFrom("array" as const, "object" as const, "mixed" as const),
      )
      .map(([args, p, depth, shape]) => ({
        kind: `${shape} nested ${depth} deep at /${p.join("/")}`,
        tool: name,
        args: setAt(args, p, nested(depth, shape)),
        certainty: strict ? ("invalid" as const) : ("valid" as const),
      })),
    fc
      .tuple(
        base,
        at(strings),
        fc.oneof(
          fc.integer({ min: 100, max: 4000 }),
          fc.integer({ min: MAX_BODY - 3000, max: MAX_BODY + 3000 }),
          fc.integer({ min: MAX_BODY, max: 4 * MAX_BODY }),
        ),
        fc.constantFrom(...HUGE_UNITS),
      )
      .map(([args, p, bytes, unit]) => {
        const text = unit.repeat(
          Math.max(1, Math.floor(bytes / Buffer.byteLength(JSON.stringify(unit)))),
        );
        return {
          kind: `string of ${text.length} x ${JSON.stringify(unit)} at /${p.join("/")}`,
          tool: name,
          args: setAt(args, p, text),
          certainty: "either" as const,
        };
      }),
    fc
      .tuple(
        base,
        fc.constantFrom(...objects),
        fc.array(fc.tuple(fc.constantFrom(...PROTO_KEYS), pollutionPayload), {
          minLength: 1,
          maxLength: 3,
        }),
      )
      .map(([args, object, extra]) => ({
        kind: `${extra.map(([k]) => k).join("+")} keys at /${object.at.join("/")}`,
        tool: name,
        args: addEntries(args, object.at, extra),
        certainty: object.strict ? ("invalid" as const) : ("valid" as const),
      })),
    fc
      .tuple(base, at(strings), fc.constantFrom(...INVALID_UTF8), jsString(0, 6))
      .map(([args, p, bytes, head]) => ({
        kind: `invalid UTF-8 ${Buffer.from(bytes).toString("hex")} at /${p.join("/")}`,
        tool: name,
        args: setAt(args, p, head + BYTES_PLACEHOLDER),
        bytes,
        certainty: strict ? ("either" as const) : ("valid" as const),
      })),
    fc
      .tuple(base, at(strings), fc.constantFrom(...LONE_SURROGATES), jsString(0, 10))
      .map(([args, p, s, tail]) => ({
        kind: `lone surrogate at /${p.join("/")}`,
        tool: name,
        args: setAt(args, p, s + tail),
        certainty: "either" as const,
      })),
    // The same key twice: the last one wins, for the validator and the handler alike.
    fc
      .tuple(base, fc.jsonValue({ maxDepth: 2 }), fc.boolean())
      .chain(([args, other, validLast]): fc.Arbitrary<Mutation> => {
        const keys = Object.keys(args);
        if (keys.length === 0)
          return fc.constant({
            kind: "duplicate keys (none)",
            tool: name,
            args,
            certainty: "valid" as const,
          });
        return fc.constantFrom(...keys).map((key) => {
          const entries = Object.entries(args).filter(([k]) => k !== key);
          const pair: [string, unknown][] = validLast
            ? [
                [key, other],
                [key, args[key]],
              ]
            : [
                [key, args[key]],
                [key, other],
              ];
          return {
            kind: `duplicate key ${key} (${validLast ? "valid" : "hostile"} value last)`,
            tool: name,
            args: new Entries([...entries, ...pair]),
            certainty: validLast ? ("valid" as const) : ("either" as const),
          };
        });
      }),
    fc
      .tuple(base, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([args, k, v]) => ({
        kind: `extra key x_${k}`,
        tool: name,
        args: { ...args, [`x_${k}`]: v },
        certainty: strict ? ("invalid" as const) : ("valid" as const),
      })),
    fc
      .oneof(
        fc.jsonValue({ maxDepth: 2 }).filter((v) => !isObject(v)),
        fc.constant(null),
        fc.constant([]),
      )
      .map((args) => ({
        kind: `arguments ${cut(JSON.stringify(args), 20)}`,
        tool: name,
        args,
        certainty: "either" as const,
      })),
  ];
  if (name === "put_item" || name === "put_note") {
    kinds.push(
      base.map((args) => ({
        kind: "no idempotency key",
        tool: name,
        args: { ...args, idempotency_key: undefined },
        certainty: "invalid" as const,
      })),
      fc.tuple(base, fc.integer({ min: 1, max: 6 })).map(([args, n]) => ({
        kind: `shared idempotency key reuse-${n}`,
        tool: name,
        args: { ...args, idempotency_key: `reuse-${n}` },
        certainty: "valid" as const,
        reused: true,
      })),
    );
  }
  return fc.oneof(...kinds);
}

const unknownToolName = fc
  .oneof(
    fc.constantFrom(
      ...OBJECT_NAMES,
      "",
      "INSPECT",
      "search ",
      "search\u0000",
      "../probe",
      "tools/list",
      "Error: at x.js:1:1",
    ),
    fc.string({ unit: "binary", maxLength: 40 }),
  )
  .filter((n) => !(TOOL_NAMES as readonly string[]).includes(n));

function argumentCases(): fc.Arbitrary<Case> {
  const perTool = fc.oneof(
    ...FUZZED_TOOLS.map((name) => ({
      arbitrary: mutations(name),
      weight: name === "slow" ? 1 : 10,
    })),
    {
      arbitrary: fc.tuple(unknownToolName, fc.jsonValue({ maxDepth: 2 })).map(([tool, args]) => ({
        kind: "unknown tool",
        tool,
        args: isObject(args) ? args : {},
        certainty: "either" as const,
      })),
      weight: 3,
    },
  );
  return fc
    .record({
      base: perTool,
      sdkPath: oneIn(5),
      id: fc.integer({ min: 1, max: 2 ** 31 }),
    })
    .map((r): ArgCase => ({ ...r.base, sdkPath: r.sdkPath, id: r.id }))
    .map((a) => {
      const text = render(envelopeFor(a.id, a.tool, a.args));
      const body = a.bytes
        ? Buffer.concat(
            text
              .split(BYTES_PLACEHOLDER)
              .flatMap((part, i) =>
                i === 0 ? [Buffer.from(part)] : [Buffer.from(a.bytes!), Buffer.from(part)],
              ),
          )
        : Buffer.from(text);
      const headers: Record<string, string> = { ...MCP_HEADERS, ...AUTH() };
      // Without the protocol version header the SDK serves the call, not the fast path.
      if (a.sdkPath) delete headers["mcp-protocol-version"];
      const req: Req = { headers, body };
      let base: Accept[];
      let parsedArgs: unknown;
      try {
        // Decoded as the server decodes it (invalid UTF-8 becomes U+FFFD).
        const message = JSON.parse(body.toString("utf8")) as { params: { arguments: unknown } };
        parsedArgs = message.params.arguments;
      } catch {
        parsedArgs = undefined;
      }
      base = callOutcome(a.tool, parsedArgs, a.certainty);
      if (a.reused) base = [...base, toolError("conflict", "in_progress")];
      // Arguments JSON cannot carry faithfully are refused before any tool model applies:
      // the SDK path (whose parser would drop a __proto__ key) with 400, every known tool
      // with invalid_input (Infinity, lone surrogates, __proto__ keys).
      const known = (TOOL_NAMES as readonly string[]).includes(a.tool);
      if (a.sdkPath && protoKeyIn(parsedArgs)) base = [http(400, INVALID_REQUEST)];
      else if (known && notPlainJson(parsedArgs)) base = [toolError("invalid_input")];
      return {
        family: "arguments",
        label: `tools/call ${cut(JSON.stringify(a.tool), 40)}: ${a.kind}${a.sdkPath ? " (SDK path)" : ""}, ${body.length} bytes`,
        req,
        accept: predict(req, base),
      };
    });
}

const KNOWN_METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
  "sampling/createMessage",
  "elicitation/create",
  "subscriptions/listen",
  "server/discover",
];
const VERSIONS = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2026-07-28",
  "1999-01-01",
  "garbage",
];
const headerValue = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);

function envelopeCases(): fc.Arbitrary<Case> {
  const id = fc.oneof(
    { arbitrary: fc.integer(), weight: 8 },
    { arbitrary: fc.string({ maxLength: 16 }), weight: 4 },
    fc.constant(null),
    fc.double(),
    fc.boolean(),
    fc.constant({}),
    fc.constant([1]),
    fc.constant(2 ** 53 + 2),
    fc.constant(new RawJson("1e999")),
  );
  const method = fc.oneof(
    { arbitrary: fc.constantFrom(...KNOWN_METHODS), weight: 6 },
    { arbitrary: fc.constantFrom(...OBJECT_NAMES), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 30 }), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
  );
  const meta = fc.dictionary(
    fc.constantFrom(
      "progressToken",
      "toolgate/idempotency-key",
      "io.modelcontextprotocol/protocolVersion",
      "io.modelcontextprotocol/clientCapabilities",
      "io.modelcontextprotocol/clientInfo",
      "x",
    ),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 4 },
  );
  const params = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record(
      {
        name: fc.oneof(
          fc.constantFrom(...TOOL_NAMES),
          unknownToolName,
          fc.jsonValue({ maxDepth: 1 }),
        ),
        arguments: fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
        ),
        _meta: meta,
        cursor: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        protocolVersion: fc.oneof(fc.constantFrom(...VERSIONS), fc.jsonValue({ maxDepth: 1 })),
        capabilities: fc.jsonValue({ maxDepth: 3 }),
        clientInfo: fc.oneof(
          fc.record({ name: fc.string(), version: fc.string() }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        uri: fc.oneof(fc.webUrl(), fc.string()),
        level: fc.oneof(fc.constantFrom("debug", "info", "error", "emergency"), fc.string()),
        requestId: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  );
  /** `arb` in `present` draws out of `present + absent`, otherwise undefined. */
  const opt = <T>(arb: fc.Arbitrary<T>, present: number, absent: number) =>
    fc.oneof(
      { arbitrary: arb, weight: present },
      { arbitrary: fc.constant(undefined), weight: absent },
    );
  const envelope = fc
    .record({
      jsonrpc: opt(
        fc.oneof(
          { arbitrary: fc.constant("2.0"), weight: 24 },
          fc.constantFrom("1.0", "2", 2, null),
        ),
        7,
        1,
      ),
      id: opt(id, 5, 1),
      method: opt(method, 9, 1),
      params: opt(params, 2, 1),
      result: opt(fc.jsonValue({ maxDepth: 2 }), 1, 9),
      error: opt(fc.jsonValue({ maxDepth: 2 }), 1, 9),
      hostile: opt(
        fc.array(
          fc.tuple(
            fc.constantFrom(...PROTO_KEYS, "jsonrpc", "method", "id", "params"),
            pollutionPayload,
          ),
          { maxLength: 2 },
        ),
        1,
        3,
      ),
    })
    .map(({ hostile, ...fields }) => {
      const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
      return new Entries([...entries, ...(hostile ?? [])]);
    });
  // Well-formed requests with plausible params (one field sometimes swapped for junk), so
  // that a good share gets past the envelope checks into the SDK's and toolgate's handlers.
  const plausibleParams: Record<string, fc.Arbitrary<unknown>> = {
    initialize: fc.record({
      protocolVersion: fc.constantFrom(...VERSIONS),
      capabilities: fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 })),
      clientInfo: fc.record({ name: fc.string(), version: fc.string() }),
    }),
    "tools/list": fc.record({ cursor: fc.string() }, { requiredKeys: [] }),
    "tools/call": fc.record({
      name: fc.oneof(fc.constantFrom(...TOOL_NAMES), unknownToolName),
      arguments: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
        maxKeys: 4,
      }),
    }),
    "logging/setLevel": fc.record({ level: fc.constantFrom("debug", "info", "error", "nope") }),
    "completion/complete": fc.record({
      ref: fc.record({ type: fc.constantFrom("ref/prompt", "ref/resource"), name: fc.string() }),
      argument: fc.record({ name: fc.string(), value: fc.string() }),
    }),
    "resources/read": fc.record({ uri: fc.oneof(fc.webUrl(), fc.constant("file:///etc/passwd")) }),
    "notifications/cancelled": fc.record({ requestId: fc.integer(), reason: fc.string() }),
  };
  const plausible = fc
    .tuple(
      fc.constantFrom(...KNOWN_METHODS),
      fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.string({ minLength: 1, maxLength: 12 })),
      oneIn(4),
    )
    .chain(([m, requestId, junk]) =>
      (plausibleParams[m] ?? fc.constant({})).chain((p) =>
        (junk && isObject(p)
          ? fc
              .tuple(fc.constantFrom(...Object.keys(p), "extra"), fc.jsonValue({ maxDepth: 2 }))
              .map(([k, v]) => ({ ...p, [k]: v }))
          : fc.constant(p)
        ).map(
          (params) =>
            new Entries([
              ["jsonrpc", "2.0"],
              ...(m.startsWith("notifications/") ? [] : [["id", requestId] as const]),
              ["method", m],
              ["params", params],
            ]),
        ),
      ),
    );
  const body = fc.oneof(
    { arbitrary: envelope, weight: 10 },
    { arbitrary: plausible, weight: 8 },
    { arbitrary: fc.array(fc.oneof(envelope, plausible), { maxLength: 5 }), weight: 3 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  );
  const headers = fc.record({
    accept: fc.oneof(
      { arbitrary: fc.constant(MCP_HEADERS["accept"]!), weight: 10 },
      fc.constantFrom(
        "application/json",
        "text/event-stream",
        "*/*",
        "text/html",
        "application/json;q=0, text/event-stream",
      ),
      fc.constant(undefined),
    ),
    version: fc.oneof(
      { arbitrary: fc.constant("2025-11-25"), weight: 6 },
      fc.constantFrom(...VERSIONS),
      fc.constant(undefined),
    ),
    contentType: fc.oneof(
      { arbitrary: fc.constant("application/json"), weight: 10 },
      fc.constantFrom(
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=latin1",
      ),
    ),
    extra: fc.dictionary(
      fc.constantFrom(
        "mcp-session-id",
        "idempotency-key",
        "last-event-id",
        "traceparent",
        "x-request-id",
      ),
      headerValue,
      { maxKeys: 2 },
    ),
    readOnly: oneIn(10),
  });
  return fc.tuple(body, headers).map(([value, h]) => {
    const text = render(value);
    const all: Record<string, string> = {
      "content-type": h.contentType,
      authorization: `Bearer ${h.readOnly ? tokens.readOnly : tokens.full}`,
      ...h.extra,
    };
    if (h.accept !== undefined) all["accept"] = h.accept;
    if (h.version !== undefined) all["mcp-protocol-version"] = h.version;
    const req: Req = { headers: all, body: Buffer.from(text) };
    return {
      family: "envelopes",
      label: `envelope ${cut(text, 120)}`,
      req,
      accept: predict(req, [ANY]),
    };
  });
}

/** A valid tools/call body, for the raw-body and token families to mangle or wrap. */
const validCall = fc
  .tuple(
    fc.constantFrom("lookup_order", "search", "inspect", "put_item"),
    fc.integer({ min: 1, max: 2 ** 31 }),
  )
  .chain(([name, id]) => MODELS[name]!.valid.map((args) => ({ name, id, args })))
  .map(({ name, id, args }) => {
    const text = render(envelopeFor(id, name, args));
    return { name, text, outcome: callOutcome(name, args, "valid") };
  });

const CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "application/json-rpc",
  "json",
  "application/*",
  "*/*",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/json ; charset=utf-8",
  "text/json",
  "application/vnd.api+json",
];
const BAD_LENGTHS = ["abc", "-1", "1.5", "0x10", "1e3"];
const HOSTS_REFUSED = [
  "evil.example",
  "127.0.0.2",
  "localhost.evil.example",
  "mcp.example.com:80",
  "[::2]",
];
const HOSTS_ALLOWED = ["localhost", "localhost:1", "127.0.0.1", "[::1]:8080"];

function bodyCases(): fc.Arbitrary<Case> {
  const headers = () => ({ ...MCP_HEADERS, ...AUTH() });
  const kinds: fc.Arbitrary<Omit<Case, "family">>[] = [
    fc.tuple(validCall, fc.double({ min: 0, max: 1, noNaN: true })).map(([call, at]) => {
      const body = Buffer.from(call.text).subarray(0, Math.floor(at * (call.text.length - 1)));
      const req: Req = { headers: headers(), body };
      return {
        label: `truncated at ${body.length} of ${call.text.length}`,
        req,
        accept: predict(req, call.outcome),
      };
    }),
    fc
      .tuple(
        validCall,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(...INVALID_UTF8),
      )
      .map(([call, at, bytes]) => {
        const whole = Buffer.from(call.text);
        const i = Math.floor(at * whole.length);
        const body = Buffer.concat([whole.subarray(0, i), Buffer.from(bytes), whole.subarray(i)]);
        const req: Req = { headers: headers(), body };
        // Decoded as the server decodes it (U+FFFD): inside a string it may still be a call.
        return {
          label: `invalid UTF-8 ${Buffer.from(bytes).toString("hex")} at byte ${i}`,
          req,
          accept: predict(req, [ANY]),
        };
      }),
    fc.uint8Array({ maxLength: 600 }).map((bytes) => {
      const req: Req = { headers: headers(), body: Buffer.from(bytes) };
      return { label: `${bytes.length} random bytes`, req, accept: predict(req, [ANY]) };
    }),
    fc
      .oneof(fc.json({ maxDepth: 3 }), fc.string({ unit: "binary", maxLength: 200 }))
      .map((text) => {
        const req: Req = { headers: headers(), body: Buffer.from(text) };
        return { label: `text ${cut(JSON.stringify(text), 60)}`, req, accept: predict(req, [ANY]) };
      }),
    fc
      .constantFrom(
        "",
        " ",
        "\n",
        "\uFEFF{}",
        "{}",
        "[]",
        "null",
        "[[]]",
        '{"jsonrpc":"2.0"',
        "\u0000",
      )
      .map((text) => {
        const req: Req = { headers: headers(), body: Buffer.from(text) };
        return { label: `body ${JSON.stringify(text)}`, req, accept: predict(req, [ANY]) };
      }),
    fc
      .tuple(validCall, fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.constant(undefined)))
      .map(([call, type]) => {
        const h: Record<string, string> = headers();
        if (type === undefined) delete h["content-type"];
        else h["content-type"] = type;
        const req: Req = { headers: h, body: Buffer.from(call.text) };
        return {
          label: `content-type ${JSON.stringify(type)}`,
          req,
          accept: predict(req, call.outcome),
        };
      }),
    fc
      .tuple(validCall, fc.integer({ min: 1, max: 3 * MAX_BODY }), fc.boolean())
      .map(([call, extra, chunked]) => {
        // Padding whitespace: valid JSON of any size.
        const body = Buffer.from(
          call.text + " ".repeat(Math.max(0, MAX_BODY - call.text.length + extra)),
        );
        const req: Req = chunked
          ? { headers: headers(), body, framing: "chunked", chunks: 7 }
          : { headers: headers(), body };
        return {
          label: `oversized body of ${body.length} bytes${chunked ? ", chunked" : ""}`,
          req,
          accept: predict(req, call.outcome),
        };
      }),
    fc
      .tuple(fc.integer({ min: MAX_BODY + 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 2000 }))
      .map(([declared, sent]) => {
        const req: Req = {
          headers: { ...headers(), "content-length": String(declared) },
          body: Buffer.from("{".padEnd(sent, " ")),
          framing: "declared",
        };
        return {
          label: `declared Content-Length ${declared}, ${sent} bytes sent`,
          req,
          accept: [http(413, INVALID_REQUEST)],
        };
      }),
    fc.tuple(validCall, fc.integer({ min: 1, max: 40 })).map(([call, chunks]) => {
      const req: Req = {
        headers: headers(),
        body: Buffer.from(call.text),
        framing: "chunked",
        chunks,
      };
      return { label: `chunked in ${chunks}`, req, accept: predict(req, call.outcome) };
    }),
    fc.tuple(validCall, fc.constantFrom(...BAD_LENGTHS)).map(([call, length]) => {
      const req: Req = {
        headers: { ...headers(), "content-length": length },
        body: Buffer.from(call.text),
        fresh: true,
      };
      return {
        label: `Content-Length ${JSON.stringify(length)}`,
        req,
        accept: [http(400, undefined, { bare: true })],
      };
    }),
    fc.tuple(validCall, fc.integer({ min: 1, max: 200 })).map(([call, short]) => {
      const declared = Math.max(0, call.text.length - short);
      const req: Req = {
        headers: { ...headers(), "content-length": String(declared) },
        body: Buffer.from(call.text),
        fresh: true,
      };
      return {
        label: `Content-Length ${declared} short of ${call.text.length}`,
        req,
        // The bytes past the declared length are a second, malformed request on the same
        // connection: Node's parser refuses it (bare 400, connection closed), possibly
        // before toolgate's answer to the first one is written.
        accept: [...predict(req, call.outcome), http(400, undefined, { bare: true })],
      };
    }),
    fc
      .tuple(validCall, fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"))
      .map(([call, method]) => {
        const req: Req =
          method === "GET" || method === "HEAD"
            ? { method, headers: headers() }
            : { method, headers: headers(), body: Buffer.from(call.text) };
        return { label: `method ${method}`, req, accept: predict(req, call.outcome) };
      }),
    fc
      .tuple(
        validCall,
        fc.oneof(
          fc.constantFrom(
            "/",
            "/mcp/",
            "/MCP",
            "/mcp?x=1",
            "/mcp?x=%ff",
            "//mcp",
            "/%2e%2e/mcp",
            "/mcp/../mcp",
            "/healthz",
            "/metrics",
            "/.well-known/x",
            "/mcp%00",
          ),
          fc.webPath().map((p) => `/${p.replace(/^\/+/, "")}`),
        ),
      )
      .map(([call, p]) => {
        const req: Req = { path: p, headers: headers(), body: Buffer.from(call.text) };
        return { label: `path ${p}`, req, accept: predict(req, call.outcome) };
      }),
    fc
      .tuple(validCall, fc.constantFrom(...HOSTS_REFUSED, ...HOSTS_ALLOWED), fc.boolean())
      .map(([call, host, asOrigin]) => {
        const refused = (HOSTS_REFUSED as readonly string[]).includes(host);
        const h: Record<string, string> = asOrigin
          ? { ...headers(), origin: `http://${host}` }
          : { ...headers(), host };
        const req: Req = { headers: h, body: Buffer.from(call.text) };
        const guards: Guards = refused ? { refusal: [http(403)] } : {};
        return {
          label: `${asOrigin ? "Origin" : "Host"} ${host}`,
          req,
          accept: predict(req, call.outcome, guards),
        };
      }),
  ];
  return fc.oneof(...kinds).map((c) => ({ ...c, family: "bodies" }));
}

/** RFC 6750's b64token after "Bearer ", as the server's header check reads it. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

function tokenCases(): fc.Arbitrary<Case> {
  const refusedToken = fc.oneof(
    fc.constantFrom(...Object.keys(badTokens)).map((why) => ({ why, token: badTokens[why]! })),
    fc
      .stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/)
      .map((token) => ({ why: "random b64token", token })),
    fc
      .tuple(
        fc.base64String({ minLength: 4, maxLength: 80 }),
        fc.base64String({ minLength: 4, maxLength: 200 }),
        fc.base64String({ maxLength: 90 }),
      )
      .map(([a, b, c]) => ({
        why: "random JWT-shaped",
        token: [a, b, c].map((s) => s.replace(/=+$/, "")).join("."),
      })),
    fc
      .tuple(
        fc.constantFrom(0, 1, 2),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      )
      .map(([part, at, ch]) => {
        const parts = tokens.full.split(".");
        const segment = parts[part]!;
        // Never the last character: its low bits may be padding, the same bytes once decoded.
        const i = Math.floor(at * (segment.length - 2));
        const changed = segment[i] === ch ? (ch === "A" ? "B" : "A") : ch;
        parts[part] = segment.slice(0, i) + changed + segment.slice(i + 1);
        return {
          why: `tampered ${["header", "payload", "signature"][part]} at ${i}`,
          token: parts.join("."),
        };
      }),
  );
  const cases: fc.Arbitrary<Omit<Case, "family">>[] = [
    fc.tuple(validCall, refusedToken).map(([call, { why, token }]) => {
      const req: Req = {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: Buffer.from(call.text),
      };
      return {
        label: `token: ${why}`,
        req,
        accept: predict(req, [], { refusal: [http(401, INVALID_REQUEST, { challenge: true })] }),
      };
    }),
    fc
      .tuple(
        validCall,
        fc.oneof(
          fc.constantFrom(
            "",
            " ",
            "Bearer",
            "Bearer ",
            "bearer",
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "Bearer a b",
            "Bearer\tabc",
            "Bearer ====",
            "Bearer a=b",
            "Bearer é",
            "Digest x",
            "Bearer a,b",
          ),
          fc.stringMatching(/^[\x20-\x7e]{0,120}$/),
        ),
      )
      .map(([call, value]) => {
        const req: Req = {
          headers: { ...MCP_HEADERS, authorization: value },
          body: Buffer.from(call.text),
        };
        // Node trims the header value; an empty one is no token at all.
        const trimmed = value.trim();
        const refusal =
          trimmed === ""
            ? http(401, INVALID_REQUEST, { challenge: true })
            : BEARER.test(trimmed)
              ? http(401, INVALID_REQUEST, { challenge: true })
              : http(400, INVALID_REQUEST, { challenge: true });
        return {
          label: `Authorization ${JSON.stringify(value)}`,
          req,
          accept: predict(req, [], { refusal: [refusal] }),
        };
      }),
    validCall.map((call) => {
      const req: Req = { headers: { ...MCP_HEADERS }, body: Buffer.from(call.text) };
      return {
        label: "no Authorization header",
        req,
        accept: predict(req, [], { refusal: [http(401, INVALID_REQUEST, { challenge: true })] }),
      };
    }),
    fc.tuple(validCall, fc.integer({ min: 4000, max: 40_000 })).map(([call, n]) => {
      const req: Req = {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${"a".repeat(n)}` },
        body: Buffer.from(call.text),
        fresh: true,
      };
      // Past Node's 16 KiB header limit the request is refused before toolgate sees it (431).
      return {
        label: `token of ${n} characters`,
        req,
        accept: [
          http(401, INVALID_REQUEST, { challenge: true }),
          http(431, undefined, { bare: true }),
        ],
      };
    }),
    fc.tuple(validCall, fc.boolean()).map(([call, alsoHeader]) => {
      const req: Req = {
        path: `/mcp?access_token=${encodeURIComponent(tokens.full)}`,
        headers: alsoHeader ? { ...MCP_HEADERS, ...AUTH() } : { ...MCP_HEADERS },
        body: Buffer.from(call.text),
      };
      return {
        label: `token in the query string${alsoHeader ? " and the header" : ""}`,
        req,
        accept: predict(req, [], { refusal: [http(400, INVALID_REQUEST, { challenge: true })] }),
      };
    }),
    validCall.map((call) => {
      // A read-only token: reads work, the write is a typed forbidden result.
      const req: Req = {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.readOnly}` },
        body: Buffer.from(call.text),
      };
      return {
        label: `read-only token calling ${call.name}`,
        req,
        accept: predict(req, call.name === "put_item" ? [toolError("forbidden")] : call.outcome),
      };
    }),
    validCall.map((call) => {
      const req: Req = { headers: { ...MCP_HEADERS, ...AUTH() }, body: Buffer.from(call.text) };
      return { label: `valid token calling ${call.name}`, req, accept: predict(req, call.outcome) };
    }),
  ];
  return fc.oneof(...cases).map((c) => ({ ...c, family: "tokens" }));
}

// ---------------------------------------------------------------------------------------
// Running a family: fast-check draws ROUND cases per run; they go out CONCURRENCY at a time.

async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function runFamily(
  scenario: string,
  arbitrary: fc.Arbitrary<Case>,
  total: number,
  seed: number,
): Promise<Stats> {
  const stats = newStats();
  const callsBefore = traffic.calls;
  const retriesBefore = traffic.retries;
  const started = performance.now();
  const property = fc.asyncProperty(
    fc.array(arbitrary, { minLength: ROUND, maxLength: ROUND }),
    async (cases) => {
      await runPool(cases, CONCURRENCY, async (c) => {
        stats.cases++;
        try {
          checkAnswer(c, await send(c.req), stats);
        } catch (error) {
          const message = (error as Error).message;
          recordViolation(
            stats,
            c,
            message.startsWith(c.label) ? message : `${c.label}: ${message}`,
          );
        }
      });
      // A dead server fails the property at once (every later case would fail the same way).
      assertAlive(`during ${scenario}`);
    },
  );
  const details = await fc.check(property, {
    seed,
    numRuns: Math.ceil(total / ROUND),
    endOnFailure: true,
  });
  const seconds = (performance.now() - started) / 1000;
  report(
    SUITE,
    scenario,
    { cases: stats.cases, calls: traffic.calls - callsBefore, leaks: stats.leaks },
    {
      seed,
      seconds,
      p50Ms: percentile(stats.latencies, 50),
      p99Ms: percentile(stats.latencies, 99),
      maxMs: percentile(stats.latencies, 100),
      statuses: JSON.stringify(Object.fromEntries(stats.statuses)),
      toolErrors: JSON.stringify(Object.fromEntries(stats.errorTypes)),
      typed500: stats.typed500,
      socketRetries: traffic.retries - retriesBefore,
      violations: stats.violationCount,
    },
  );
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(
      `${scenario}: seed ${details.seed}, run ${details.numRuns} (TOOLGATE_HOSTILE_SEED=${SEED} replays the suite):\n` +
        (error instanceof Error ? error.message : String(error)),
    );
  }
  assert.equal(stats.leaks, 0, `${stats.leaks} answers leaked:\n${stats.leakExamples.join("\n")}`);
  if (stats.violationCount > 0) {
    const kinds = [...stats.violations.entries()]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, 12)
      .map(([kind, v]) => `- ${v.count} x ${kind}\n  e.g. ${v.example}`);
    assert.fail(
      `${scenario}: ${stats.violationCount} of ${stats.cases} answers broke the contract (${stats.violations.size} kinds${stats.violations.size > 12 ? ", the 12 most frequent below" : ""}) ` +
        `(seed ${seed}; TOOLGATE_HOSTILE_SEED=${SEED} replays the suite), by kind:\n${kinds.join("\n")}`,
    );
  }
  assert.ok(stats.cases >= total, `${stats.cases} cases run, ${total} planned`);
  return stats;
}

// ---------------------------------------------------------------------------------------
// The probe: pollution and memory, reported by the server process itself.

interface ProbeReport {
  pollution: { added: string[]; inherited: string[]; clean: boolean };
  rss: number;
  heapUsed: number;
  external: number;
  gcAvailable: boolean;
}

async function probe(): Promise<ProbeReport> {
  const res = await send({
    headers: { ...MCP_HEADERS, ...AUTH() },
    body: Buffer.from(render(envelopeFor(randomUUID(), "probe", { gc: true }))),
  });
  assert.equal(res.status, 200, res.body);
  const message = JSON.parse(
    res.body
      .split("\n")
      .find((l) => l.startsWith("data:"))!
      .slice(5),
  ) as {
    result: { structuredContent: ProbeReport; isError?: boolean };
  };
  assert.notEqual(message.result.isError, true, res.body);
  return message.result.structuredContent;
}

interface MemorySample {
  rss: number;
  heapUsed: number;
}

async function memory(): Promise<MemorySample> {
  const report = await probe();
  assert.ok(report.gcAvailable, "the fixture runs with --expose-gc");
  return { rss: rssOf(server.pid) ?? report.rss, heapUsed: report.heapUsed };
}

const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------

describe(`hostile input (${PROFILE} profile)`, { timeout: byProfile(600_000, 1_800_000) }, () => {
  let baseline: MemorySample;
  const samples: Record<string, MemorySample> = {};
  const warmup = { calls: 0 };
  /** Records the memory after a family, even when it failed (without masking its error). */
  const sample = (name: string) =>
    memory().then(
      (m) => void (samples[name] = m),
      () => undefined,
    );

  test("the checks themselves catch stack traces, secrets, 5xx, malformed and wrong answers", () => {
    const c: Case = {
      family: "self-test",
      label: "self-test",
      req: { headers: {}, body: Buffer.from(render(envelopeFor(5, "search", { query: "q" }))) },
      accept: [ok({ queryLength: 1 })],
    };
    const answer = (status: number, body: string, type = "application/json"): Res => ({
      status,
      headers: { "content-type": type },
      body,
      ms: 1,
    });
    const sse = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;
    const result = (sc: unknown, isError = false) => ({
      jsonrpc: "2.0",
      id: 5,
      result: {
        content: [{ type: "text", text: JSON.stringify(sc) }],
        structuredContent: sc,
        ...(isError ? { isError } : {}),
      },
    });
    const stats = newStats();
    checkAnswer(c, answer(200, sse(result({ queryLength: 1 })), "text/event-stream"), stats);
    const wrong = (res: Res, problem: RegExp) =>
      assert.throws(() => checkAnswer(c, res, stats), problem);
    wrong(
      answer(502, '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"x"}}'),
      /HTTP 502/,
    );
    wrong(answer(200, "<html></html>", "text/html"), /content type/);
    wrong(answer(400, ""), /empty body/);
    wrong(answer(200, sse(result({ queryLength: 2 })), "text/event-stream"), /expected/);
    wrong(answer(200, sse({ ...result({ queryLength: 1 }), id: 6 }), "text/event-stream"), /id 6/);
    const typed = (type: string) => ({ error: { type, message: "m", retryable: false } });
    wrong(answer(200, sse(result(typed("oops"), true)), "text/event-stream"), /unknown error type/);
    wrong(answer(200, sse(result(typed("timeout"), true)), "text/event-stream"), /retryable/);
    assert.equal(stats.leaks, 0);
    const stack = "Error: boom\n    at handler (/srv/app/tool.js:12:7)";
    // Counted even on an answer that also breaks the contract.
    wrong(
      answer(200, sse(result({ queryLength: 1, trace: stack })), "text/event-stream"),
      /expected/,
    );
    assert.equal(stats.leaks, 1, "a stack trace in an answer is counted as a leak");
    assert.ok(
      findLeak(`{"token":"${tokens.full}"}`, tokens.full),
      "a token is a leak even if sent",
    );
    assert.ok(findLeak("at Object.<anonymous> (node:internal/x:1:2)", ""));
    assert.equal(findLeak('{"message":"No tool named \'Error: x\'"}', "Error: x"), undefined);
  });

  test("warm-up (not counted): every path once, then the memory baseline", async () => {
    // Warm up every path (SDK and fast path, validators, SQLite, token cache) before the
    // memory baseline: the first requests allocate what stays for the process's life.
    // Only the answers' arrival is checked here: the families below check the contract on
    // the same generators (a contract bug must not cost the memory baseline).
    const callsBefore = traffic.calls;
    const mix = fc.oneof(envelopeCases(), argumentCases(), bodyCases(), tokenCases());
    const cases = fc.sample(mix, { seed: SEED - 1, numRuns: 480 });
    let answered = 0;
    await runPool(cases, CONCURRENCY, async (c) => {
      const res = await send(c.req);
      if (res.status > 0) answered++;
    });
    assert.equal(answered, cases.length);
    assertAlive("during the warm-up");
    warmup.calls = traffic.calls - callsBefore;
    baseline = await memory();
  });

  test("random JSON-RPC envelopes", async () => {
    try {
      await runFamily("json-rpc envelopes", envelopeCases(), SIZES.envelopes, SEED + 1);
    } finally {
      await sample("envelopes");
    }
  });

  test("generated tool arguments: nesting, huge strings, __proto__, NaN-like, surrogates, duplicate keys", async () => {
    try {
      await runFamily("tool arguments", argumentCases(), SIZES.arguments, SEED + 2);
    } finally {
      await sample("arguments");
    }
  });

  test("raw HTTP bodies: truncated, invalid UTF-8, content types, oversized, chunked, framing", async () => {
    try {
      await runFamily("http bodies", bodyCases(), SIZES.bodies, SEED + 3);
    } finally {
      await sample("bodies");
    }
  });

  test("bad, missing and garbage bearer tokens", async () => {
    try {
      await runFamily("bearer tokens", tokenCases(), SIZES.tokens, SEED + 4);
    } finally {
      await sample("tokens");
    }
  });

  test("slowloris: trickled headers and bodies are cut off near the request timeout, others still served", async () => {
    const callsBefore = traffic.calls;
    const auth = `Authorization: Bearer ${tokens.full}\r\n`;
    const head = (extra: string) =>
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n${auth}Content-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\n${extra}\r\n`;
    // [what, first bytes, bytes sent every `every` ms (none: then idle), statuses it may get]
    const variants: [string, string, string | undefined, number, number[]][] = [
      [
        "headers trickled",
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`,
        "X-Slow: 1\r\n",
        300,
        [408],
      ],
      ["body trickled", head("Content-Length: 5000\r\n"), " ", 200, [408]],
      ["body stalled", `${head("Content-Length: 5000\r\n")}{"jsonrpc":`, undefined, 0, [408]],
      ["chunked body trickled", head("Transfer-Encoding: chunked\r\n"), "1\r\n \r\n", 200, [408]],
      ["nothing sent", "", undefined, 0, [408]],
      [
        "header name trickled byte by byte",
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-`,
        "a",
        150,
        [408],
      ],
    ];
    const bound = ANSWER_BOUND_MS;
    const slow = Array.from({ length: SIZES.slowloris }, (_, i) => variants[i % variants.length]!);
    const outcomes = slow.map(
      ([what, first, tick, every]) =>
        new Promise<{ what: string; ms: number; status: number | undefined; closed: boolean }>(
          (resolve) => {
            const started = performance.now();
            const socket = connect(server.port, "127.0.0.1");
            let received = "";
            let ticker: NodeJS.Timeout | undefined;
            let gaveUp = false;
            const giveUp = setTimeout(() => {
              gaveUp = true;
              socket.destroy();
            }, bound + 3000);
            socket.on("connect", () => {
              if (first) socket.write(first);
              if (tick !== undefined)
                ticker = setInterval(() => socket.writable && socket.write(tick), every);
            });
            socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
            socket.on("error", () => undefined);
            socket.on("close", () => {
              clearInterval(ticker);
              clearTimeout(giveUp);
              const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
              resolve({
                what,
                ms: performance.now() - started,
                status: status === undefined ? undefined : Number(status),
                closed: !gaveUp,
              });
            });
          },
        ),
    );
    // Meanwhile, ordinary calls keep being served, promptly.
    let served = 0;
    const latencies: number[] = [];
    let done = false;
    const all = Promise.all(outcomes).finally(() => (done = true));
    const body = Buffer.from(render(envelopeFor(1, "search", { query: "still serving" })));
    const normal = (async () => {
      while (!done) {
        const res = await send({ headers: { ...MCP_HEADERS, ...AUTH() }, body });
        assert.equal(res.status, 200, res.body);
        assert.match(res.body, /"queryLength":13/);
        latencies.push(res.ms);
        served++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const results = await all;
    await normal;
    const cutOff = results.filter((r) => r.closed && r.ms <= bound).length;
    report(
      SUITE,
      "slowloris",
      { cases: results.length, calls: traffic.calls - callsBefore + results.length, leaks: 0 },
      {
        cutOffWithinMs: bound,
        slowestCutMs: Math.max(...results.map((r) => r.ms)),
        servedMeanwhile: served,
        p99ServedMs: percentile(latencies, 99),
      },
    );
    for (const r of results) {
      assert.ok(
        r.closed && r.ms <= bound,
        `${r.what}: the connection was still open after ${Math.round(r.ms)} ms (bound ${bound} ms)`,
      );
      // Cut off by the timeout, not answered early by mistake (nor left to the client).
      assert.ok(
        r.ms >= REQUEST_TIMEOUT_MS - 100,
        `${r.what}: closed after only ${Math.round(r.ms)} ms`,
      );
      const allowed = variants.find(([what]) => what === r.what)![4];
      assert.ok(
        r.status === undefined || allowed.includes(r.status),
        `${r.what}: answered ${r.status}`,
      );
    }
    assert.equal(cutOff, results.length);
    assert.ok(served >= 5, `only ${served} ordinary calls were served meanwhile`);
    assert.ok(
      percentile(latencies, 100) < 2000,
      `an ordinary call took ${Math.round(percentile(latencies, 100))} ms meanwhile`,
    );
    assertAlive("after the slowloris clients");
    samples["slowloris"] = await memory();
  });

  test("afterwards: still serving, no prototype pollution, bounded memory, no unexpected server error", async () => {
    assertAlive("after the run");
    assert.ok(baseline, "the warm-up did not finish: no memory baseline");
    const res = await send({
      headers: { ...MCP_HEADERS, ...AUTH() },
      body: Buffer.from(
        render(envelopeFor(7, "lookup_order", { id: "INV-2026-00042", include: ["items"] })),
      ),
    });
    assert.equal(res.status, 200, res.body);
    assertNoLeak(res.body, ...secrets);
    assert.match(
      res.body,
      /"structuredContent":\{"id":"INV-2026-00042","include":\["items"\],"total":42\}/,
    );

    const final = await probe();
    assert.deepEqual(
      final.pollution,
      { added: [], inherited: [], clean: true },
      "a builtin prototype was polluted",
    );
    // This test process parsed the same hostile text: it must be clean too.
    const plain: Record<string, unknown> = {};
    assert.deepEqual(
      POLLUTION_KEYS.filter((k) => k in plain),
      [],
    );

    // RSS right after a burst still holds pages V8 and the allocator give back a little
    // later (the samples after each family show it): the end is the least of 3 samples
    // 1 s apart, what the process retains rather than what it held a moment ago.
    let end = await memory();
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const next = await memory();
      end = { rss: Math.min(end.rss, next.rss), heapUsed: Math.min(end.heapUsed, next.heapUsed) };
    }
    samples["end"] = end;
    const growth = Object.fromEntries(
      Object.entries(samples).map(([k, s]) => [
        k,
        { rssMB: (s.rss - baseline.rss) / MB, heapMB: (s.heapUsed - baseline.heapUsed) / MB },
      ]),
    );
    const rssGrowth = (end.rss - baseline.rss) / MB;
    const maxRssSeen = Math.max(...Object.values(growth).map((g) => g.rssMB));
    const heapGrowth = Math.max(...Object.values(growth).map((g) => g.heapMB));

    // Error lines in the server log: only clients cut off mid-body (the slowloris ones).
    const errors = server.stderr.jsonLines().filter((l) => Number(l["level"]) >= 50);
    const aborted = (l: Record<string, unknown>) => {
      const err = l["err"] as { message?: unknown } | undefined;
      return (
        l["msg"] === "unexpected error serving an HTTP request" &&
        err?.message === "The client aborted the request."
      );
    };
    const unexpected = errors.filter((l) => !aborted(l));
    const leaked = rssGrowth >= MAX_RSS_GROWTH_MB || heapGrowth >= MAX_HEAP_GROWTH_MB;
    report(
      SUITE,
      "memory and pollution",
      { calls: warmup.calls, leaks: (leaked ? 1 : 0) + (final.pollution.clean ? 0 : 1) },
      {
        baselineRssMB: baseline.rss / MB,
        baselineHeapMB: baseline.heapUsed / MB,
        rssGrowthMB: rssGrowth,
        maxRssGrowthSeenMB: maxRssSeen,
        maxHeapGrowthMB: heapGrowth,
        endRssMB: end.rss / MB,
        serverErrorLines: errors.length,
        abortedBodiesLogged: errors.length - unexpected.length,
        perFamily: JSON.stringify(growth, (_, v: unknown) =>
          typeof v === "number" ? Math.round(v * 10) / 10 : v,
        ),
      },
    );
    assert.ok(
      rssGrowth < MAX_RSS_GROWTH_MB,
      `RSS after the run is ${rssGrowth.toFixed(1)} MB above the warm-up: ${JSON.stringify(growth)}`,
    );
    assert.ok(
      heapGrowth < MAX_HEAP_GROWTH_MB,
      `the heap after GC grew by ${heapGrowth.toFixed(1)} MB: ${JSON.stringify(growth)}`,
    );
    const byKind = new Map<string, number>();
    for (const l of unexpected) {
      const err = l["err"] as { message?: unknown; stack?: unknown } | undefined;
      const stack = typeof err?.stack === "string" ? err.stack : "";
      const where = stack.split("\n")[1]?.trim() ?? "";
      bump(byKind, `${String(l["msg"])}: ${String(err?.message)} (${where})`);
    }
    assert.deepEqual(
      [...byKind].map(([kind, n]) => `${n} x ${kind}`),
      [],
      "the server logged unexpected errors",
    );
    assertAlive("at the end");
  });
});
