// The servers of the matrix and how each client reaches them: toolgate over HTTP (in this
// process) and over stdio (a process per client), and the gateway (a child process, as
// users start it). Every server authenticates with one dev issuer; the clients and the
// harness of a target call as the same principal, so the harness's primers (a first call
// with a key, a held write) meet the cells' calls.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Client as V2Client } from "@modelcontextprotocol/client";
import { devIssuer, type DevIssuer, type ToolServer } from "../../src/index.js";
import { type TokenVerifier } from "../../src/auth/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { minimalEnv } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { connectSdk2, type Endpoint } from "./clients.js";
import {
  STDIO_AUDIENCE,
  createInteropServer,
  refusableVerifier,
} from "./fixtures/interop-server.js";
import { ADMIN_SCOPE, STRUCTURED_SUFFIX, USE_SCOPE } from "./fixtures/interop-tools.js";
import { TSX, startGateway, writeGatewayConfig, type RunningGateway } from "./gateway.js";
import type { EndpointVariant, Harness } from "./rows.js";
import { HELLO_TEXT } from "./third-party-rows.js";

const STDIO_SERVER = fileURLToPath(new URL("./fixtures/stdio-server.ts", import.meta.url));
const SUBJECT = "interop-agent";
const TOKEN_TTL_SEC = 3600;

/** What every target of one run shares: a temp dir, the dev issuer, the gates. */
export interface Shared {
  dir: string;
  keyFile: string;
  issuer: DevIssuer;
  /** Mints tokens that expired an hour ago (same key, so only `exp` is wrong). */
  expiredIssuer: DevIssuer;
  gateDir: string;
  /** Where the stdio servers log their warnings (printed when a stdio cell fails). */
  stdioLog: string;
  warehouseUrl: string;
  filesDir: string;
  helloFile: string;
  /** The toolgate server over HTTP: a target itself, and the gateway's HTTP upstream. */
  toolgate: ToolServer;
  toolgateUrl: string;
  /** Toolgate servers over HTTP that refuse every request once `refuse()` is called. */
  refusing: RefusingServer;
  failing: RefusingServer;
  close(): Promise<void>;
}

export interface RefusingServer {
  url: string;
  refuse(): void;
  close(): Promise<void>;
}

export async function openShared(dir: string): Promise<Shared> {
  const keyFile = path.join(dir, "dev-issuer.json");
  const issuer = await devIssuer({ keyFile, env: {} });
  const expiredIssuer = await devIssuer({ keyFile, env: {}, now: () => Date.now() - 7_200_000 });
  const gateDir = path.join(dir, "gates");
  const filesDir = path.join(dir, "files");
  mkdirSync(gateDir);
  mkdirSync(filesDir);
  const helloFile = path.join(filesDir, "hello.txt");
  writeFileSync(helloFile, HELLO_TEXT);
  // A port nothing listens on: the `warehouse` backend is down for the whole run.
  const warehouseUrl = `http://127.0.0.1:${await freePort()}/`;
  const serve = async (verifier?: TokenVerifier) => {
    const server = createInteropServer({
      issuer,
      gateDir,
      warehouseUrl,
      store: memoryStore(),
      ...(verifier ? { verifier } : {}),
    });
    return { server, url: (await server.listen({ host: "127.0.0.1", port: 0 })).url };
  };
  const refusingServer = async (code: "invalid_token" | "unavailable"): Promise<RefusingServer> => {
    const switchable = refusableVerifier(issuer.verifier());
    const { server, url } = await serve(switchable.verifier);
    return { url, refuse: () => switchable.refuse(code), close: () => server.close() };
  };
  const { server: toolgate, url } = await serve();
  const refusing = await refusingServer("invalid_token");
  const failing = await refusingServer("unavailable");
  return {
    dir,
    keyFile,
    issuer,
    expiredIssuer,
    gateDir,
    stdioLog: path.join(dir, "stdio-servers.log"),
    warehouseUrl,
    filesDir,
    helloFile,
    toolgate,
    toolgateUrl: url,
    refusing,
    failing,
    close: async () => {
      await Promise.all([toolgate.close(), refusing.close(), failing.close()]);
    },
  };
}

/** A target once its server runs: its endpoints, the harness, and how to stop. */
export interface Connected {
  endpoint(variant: EndpointVariant): Endpoint;
  harness: Harness;
  /** The harness's SDK v2 client on the main endpoint (the SDK v2 and kit columns reuse it). */
  client: V2Client;
  close(): Promise<void>;
}

function mint(issuer: DevIssuer, audience: string, scope: string[]): Promise<string> {
  return issuer.mint({ sub: SUBJECT, scope, audience, ttlSec: TOKEN_TTL_SEC });
}

function harnessOf(client: V2Client): Harness {
  return { call: (tool, args) => client.callTool({ name: tool, arguments: args }) };
}

/** A call that spends a budget of one, so the matrix's rate_limited calls meet an empty one. */
export type Primer = readonly [tool: string, args: Record<string, unknown>];

async function prime(harness: Harness, primers: readonly Primer[]): Promise<void> {
  for (const [tool, args] of primers) await harness.call(tool, args);
}

const both = (tool: string): Primer[] => [
  [tool, {}],
  [`${tool}${STRUCTURED_SUFFIX}`, {}],
];

async function httpTarget(
  s: Shared,
  url: string,
  rateLimited: readonly Primer[],
): Promise<Connected> {
  const token = await mint(s.issuer, url, [USE_SCOPE]);
  const expired = await mint(s.expiredIssuer, url, [USE_SCOPE]);
  const endpoint = (variant: EndpointVariant): Endpoint => {
    if (variant === "noToken")
      throw new Error("over HTTP a missing token is the refused-token row");
    return { kind: "http", url, token, ...(variant === "refused" ? { callToken: expired } : {}) };
  };
  const client = await connectSdk2(endpoint("main"));
  const harness = harnessOf(client);
  await prime(harness, rateLimited);
  return { endpoint, harness, client, close: () => client.close() };
}

export function toolgateHttp(s: Shared): Promise<Connected> {
  return httpTarget(s, s.toolgateUrl, both("limited"));
}

export async function toolgateStdio(s: Shared): Promise<Connected> {
  const env = minimalEnv({
    INTEROP_KEY_FILE: s.keyFile,
    INTEROP_GATE_DIR: s.gateDir,
    INTEROP_WAREHOUSE_URL: s.warehouseUrl,
    INTEROP_LOG_FILE: s.stdioLog,
    // One SQLite store for every stdio process of the run: keys and budgets are shared.
    TOOLGATE_DATA_DIR: path.join(s.dir, "stdio-data"),
  });
  const token = await mint(s.issuer, STDIO_AUDIENCE, [USE_SCOPE]);
  const expired = await mint(s.expiredIssuer, STDIO_AUDIENCE, [USE_SCOPE]);
  const endpoint = (variant: EndpointVariant): Endpoint => ({
    kind: "stdio",
    command: process.execPath,
    args: ["--import", TSX, STDIO_SERVER],
    env:
      variant === "noToken"
        ? env
        : { ...env, TOOLGATE_TOKEN: variant === "refused" ? expired : token },
  });
  const client = await connectSdk2(endpoint("main"));
  const harness = harnessOf(client);
  await prime(harness, both("limited"));
  return { endpoint, harness, client, close: () => client.close() };
}

/** The gateway process, shared by the gateway's three row groups. */
export async function startSharedGateway(s: Shared): Promise<RunningGateway> {
  const dir = path.join(s.dir, "gateway");
  mkdirSync(dir);
  const pidFile = path.join(dir, "down.pid");
  const config = writeGatewayConfig({
    dir,
    keyFile: s.keyFile,
    toolgateUrl: s.toolgateUrl,
    refusingUrl: s.refusing.url,
    failingUrl: s.failing.url,
    filesDir: s.filesDir,
    pidFile,
  });
  const all = [USE_SCOPE, ADMIN_SCOPE];
  const gateway = await startGateway(
    config,
    {
      toolgate: await mint(s.issuer, s.toolgateUrl, all),
      refusing: await mint(s.issuer, s.refusing.url, all),
      failing: await mint(s.issuer, s.failing.url, all),
    },
    pidFile,
  );
  // Connected and listed: from now on these answer the gateway 401 and 503.
  s.refusing.refuse();
  s.failing.refuse();
  return gateway;
}

export function viaGateway(s: Shared, gateway: RunningGateway, rateLimited: readonly Primer[]) {
  return httpTarget(s, gateway.url, rateLimited);
}

export const gatewayPrimers = {
  toolgate: (): Primer[] => both("tg.limited"),
  thirdParty: (s: Shared): Primer[] => [
    ["everything.get-tiny-image", {}],
    ["fs.get_file_info", { path: s.helloFile }],
  ],
};
