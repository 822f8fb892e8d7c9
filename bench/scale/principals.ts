// Scale curve "principals": toolgate-read (echo, audit to SQLite) authenticated with
// jwtVerifier against a JWKS served over loopback HTTP, driven with 1, 1,000 and 100,000
// distinct valid RS256 tokens in rotation. The verifier remembers verified tokens (10,000
// by default, 60 s): past that, every call checks an RSA signature. The memory soak
// (`npm run bench -- --soak`) rotates the same 100,000 tokens.
import { generateKeyPair, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { startServer, type Child } from "../children.js";
import { HEADERS, callProblem, nextRpcId, post } from "../drive.js";
import { READ_SCOPE, type ScaleServerConfig } from "../perf-shared.js";
import {
  callBody,
  count,
  errorNotes,
  fmt,
  measurePoint,
  pointCells,
  type CurveResult,
  type Point,
  type ScaleContext,
} from "./common.js";

export const PRINCIPAL_COUNTS = [1, 1_000, 100_000] as const;
/** The verifier's defaults (src/auth/jwt-verifier.ts), for the notes. */
const VERIFIER_CACHE = { entries: 10_000, ttlSec: 60, maxLifetimeSec: 3600 };
/** The audience every token names and the server requires (any fixed resource URL). */
const AUDIENCE = "https://toolgate-bench.invalid/mcp";

export interface Principals {
  /** `Bearer <jwt>` of `count` distinct subjects, each valid for an hour from minting. */
  readonly authorizations: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  readonly mintSeconds: number;
  readonly workers: number;
  /** When the tokens expire (epoch seconds). */
  readonly expiresAt: number;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  close(): Promise<void>;
}

// The signing loop of one worker (plain JavaScript: workers load no TypeScript).
const SIGNER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createPrivateKey, sign } = require("node:crypto");
const { pem, header, claims, from, to } = workerData;
const key = createPrivateKey(pem);
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const head = b64(header);
const out = [];
for (let i = from; i < to; i++) {
  const input = head + "." + b64({ ...claims, sub: "principal-" + i });
  out.push("Bearer " + input + "." + sign("sha256", Buffer.from(input), key).toString("base64url"));
}
parentPort.postMessage(out);
`;

/**
 * An RSA-2048 key, its JWKS on 127.0.0.1 (a node:http server in this process), and
 * `total` tokens (distinct `sub`, the bench scope, iss/aud as the verifier wants, exp one
 * hour after iat: the verifier's lifetime cap) signed RS256 in parallel worker threads.
 */
export async function mintPrincipals(total: number): Promise<Principals> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
  });
  const kid = randomUUID();
  const jwks = JSON.stringify({
    keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }],
  });
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  try {
    const t0 = performance.now();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + VERIFIER_CACHE.maxLifetimeSec;
    const claims = { iss: issuer, aud: AUDIENCE, scope: READ_SCOPE, iat, exp };
    const pem = privateKey.export({ format: "pem", type: "pkcs8" });
    const workers = Math.max(1, Math.min(availableParallelism(), 8, total));
    const share = Math.ceil(total / workers);
    const parts = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const workerData = {
          pem,
          header: { alg: "RS256", typ: "JWT", kid },
          claims,
          from: w * share,
          to: Math.min(total, (w + 1) * share),
        };
        return new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(SIGNER, { eval: true, workerData });
          worker.once("message", (tokens: string[]) => resolve(tokens));
          worker.once("error", reject);
        });
      }),
    );
    return {
      authorizations: parts.flat(),
      issuer,
      audience: AUDIENCE,
      jwksUrl: `${issuer}/jwks.json`,
      mintSeconds: (performance.now() - t0) / 1000,
      workers,
      expiresAt: exp,
      jwksFetches: () => fetches,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export function jwtServerConfig(dir: string, principals: Principals): ScaleServerConfig {
  return {
    kind: "scale-jwt",
    jwksUrl: principals.jwksUrl,
    issuer: principals.issuer,
    audience: principals.audience,
    auditFile: path.join(dir, `jwt-audit-${randomUUID()}.sqlite`),
  };
}

/** A toolgate-read server verifying `principals`' tokens; its first call is checked. */
export async function startJwtServer(
  name: string,
  dir: string,
  principals: Principals,
): Promise<Child> {
  const child = await startServer(name, jwtServerConfig(dir, principals));
  const headers = { ...HEADERS, authorization: principals.authorizations[0]! };
  const problem = await callProblem(child.url, headers, callBody(nextRpcId(), "echo"));
  // Auth must really be on, or the figures would flatter it.
  const anonymous = await post(child.url, HEADERS, callBody(nextRpcId(), "echo"));
  if (problem !== undefined || anonymous.status !== 401) {
    await child.stop();
    throw new Error(
      problem === undefined
        ? `${name}: a call without a token got HTTP ${anonymous.status}, not 401`
        : `${name}: the first call with a JWKS-verified token failed: ${problem}`,
    );
  }
  return child;
}

export async function principalsCurve(ctx: ScaleContext): Promise<CurveResult> {
  const most = Math.max(...PRINCIPAL_COUNTS);
  process.stderr.write(`scale principals: minting ${count(most)} RS256 tokens...\n`);
  const principals = await mintPrincipals(most);
  const notes = [
    `minted ${count(most)} RS256 (RSA-2048) tokens in ${principals.mintSeconds.toFixed(1)} s ` +
      `on ${principals.workers} worker threads (node:crypto sign)`,
  ];
  const points: { principals: number; point?: Point; failed?: string }[] = [];
  let child: Child | undefined;
  try {
    child = await startJwtServer("scale-principals", ctx.dir, principals);
    const server = child;
    for (const n of PRINCIPAL_COUNTS) {
      let turn = 0;
      const point = await measurePoint(
        ctx,
        [server],
        {
          url: server.url,
          headers: HEADERS,
          setup: (request) => {
            request.body = callBody(nextRpcId(), "echo");
            if (request.headers)
              request.headers["authorization"] = principals.authorizations[turn++ % n]!;
          },
        },
        n === PRINCIPAL_COUNTS[0],
      );
      points.push({ principals: n, point });
      errorNotes(`${count(n)} principals`, point, notes);
      process.stderr.write(`scale principals ${count(n)}: ${fmt(point.rate)} calls/s\n`);
    }
  } catch (error) {
    points.push({ principals: -1, failed: (error as Error).message });
  } finally {
    await child?.stop();
    notes.push(
      `the verifier's principal cache: ${count(VERIFIER_CACHE.entries)} entries, ` +
        `${VERIFIER_CACHE.ttlSec} s (defaults): 1 and 1,000 principals are checked once and then ` +
        `served from it; 100,000 in rotation miss it on every call (an RS256 signature check each)`,
      `the JWKS (one RSA key, node:http on 127.0.0.1) was fetched ${principals.jwksFetches()} ` +
        `time(s): the verifier caches the key set`,
      `one server for the three points, in this order; RSS is after each point`,
    );
    await principals.close();
  }
  const rows = points.map(({ principals: n, point, failed }) =>
    point
      ? [count(n), ...pointCells(point), fmt(point.rssMb)]
      : ["failed", (failed ?? "?").replace(/\s+/g, " ").slice(0, 200)],
  );
  return {
    name: "principals",
    title:
      "distinct principals: toolgate-read (echo, audit to SQLite) with jwtVerifier, RS256 " +
      "tokens checked against a JWKS over loopback HTTP, tokens in rotation",
    header: ["principals", "calls/s", "p50 ms", "p99 ms", "CPU µs/call", "errors", "RSS MB"],
    rows,
    notes,
    data: { mintSeconds: principals.mintSeconds, workers: principals.workers, points },
  };
}
