// Scale curve "payloads": arguments of 1 KiB, 100 KiB and 1 MiB (rows of { id, text },
// returned as they came) through toolgate-read (validation of arguments and result,
// redaction and audit to SQLite) and through createGateway in front of a toolgate
// upstream (auth, pinning, audit, the answer streamed back). The default body limit
// (1 MiB) and the gateway's answer bound (4 MiB) are raised so the 1 MiB row can run.
import path from "node:path";
import { DEFAULT_MAX_BODY_BYTES } from "../../src/server/index.js";
import { DEFAULT_MAX_RESULT_BYTES } from "../../src/gateway/upstream.js";
import { startServer, type Child } from "../children.js";
import { HEADERS, callProblem, nextRpcId, post } from "../drive.js";
import {
  callBody,
  devToken,
  errorNotes,
  fmt,
  measurePoint,
  pointCells,
  type CurveResult,
  type Point,
  type ScaleContext,
} from "./common.js";

export const PAYLOAD_SIZES = [
  { label: "1 KiB", bytes: 1024 },
  { label: "100 KiB", bytes: 100 * 1024 },
  { label: "1 MiB", bytes: 1024 * 1024 },
] as const;
/** Raised limits: a 1 MiB argument plus its envelope, and its echo (about twice). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_RESULT_BYTES = 8 * 1024 * 1024;

// Words, no digits: nothing in the text looks like a secret or a card number to redaction.
const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor";

/** `{"items":[...]}` of about `bytes` bytes: rows of ~100 bytes each. */
function argumentsOf(bytes: number): string {
  const items: { id: number; text: string }[] = [];
  let size = '{"items":[]}'.length;
  for (let id = 0; size < bytes; id++) {
    const text = WORDS.slice(0, 60 + (id % 17));
    const item = { id, text };
    size += JSON.stringify(item).length + (items.length > 0 ? 1 : 0);
    items.push(item);
  }
  return JSON.stringify({ items });
}

interface PayloadPoint {
  size: string;
  path: "toolgate-read" | "gateway";
  requestBytes: number;
  responseBytes: number;
  point: Point;
}

export async function payloadsCurve(ctx: ScaleContext): Promise<CurveResult> {
  const notes: string[] = [];
  const points: PayloadPoint[] = [];
  const failures: string[][] = [];
  const started: Child[] = [];
  const start = async (...args: Parameters<typeof startServer>) => {
    const child = await startServer(...args);
    started.push(child);
    return child;
  };
  try {
    const file = (name: string) => path.join(ctx.dir, `payload-${name}`);
    const [read, upstream] = await Promise.all([
      start("scale-payload-read", {
        kind: "scale-payload",
        keyFile: ctx.keyFile,
        auditFile: file("read-audit.sqlite"),
        maxBodyBytes: MAX_BODY_BYTES,
      }),
      start("scale-payload-upstream", {
        kind: "scale-payload-upstream",
        maxBodyBytes: MAX_BODY_BYTES,
      }),
    ]);
    const gateway = await start("scale-payload-gateway", {
      kind: "scale-payload-gateway",
      upstreamUrl: upstream.url,
      keyFile: ctx.keyFile,
      lockFile: file("lock.json"),
      storeFile: file("gateway-store.sqlite"),
      auditFile: file("gateway-audit.sqlite"),
      maxBodyBytes: MAX_BODY_BYTES,
      maxResultBytes: MAX_RESULT_BYTES,
    });
    const paths = [
      { path: "toolgate-read" as const, child: read, tool: "payload", processes: [read] },
      {
        path: "gateway" as const,
        child: gateway,
        tool: "up.payload",
        processes: [gateway, upstream],
      },
    ];
    for (const size of PAYLOAD_SIZES) {
      const args = argumentsOf(size.bytes);
      for (const p of paths) {
        const headers = { ...HEADERS, authorization: await devToken(ctx, p.child.url) };
        // The envelope around the arguments, so each request costs one copy of them.
        const [head, tail] = callBody(0, p.tool, "\u0000").split("\u0000") as [string, string];
        const argsBuffer = Buffer.from(args);
        const tailBuffer = Buffer.from(tail);
        const bodyOf = (id: number) =>
          Buffer.concat([
            Buffer.from(head.replace('"id":0', `"id":${id}`)),
            argsBuffer,
            tailBuffer,
          ]);
        const first = bodyOf(nextRpcId());
        const problem = await callProblem(p.child.url, headers, first);
        if (problem !== undefined) {
          failures.push([
            size.label,
            p.path,
            `failed: ${problem.replace(/\s+/g, " ").slice(0, 200)}`,
          ]);
          continue;
        }
        const answer = await post(p.child.url, headers, bodyOf(nextRpcId()));
        const point = await measurePoint(
          ctx,
          p.processes,
          {
            url: p.child.url,
            headers,
            setup: (request) => {
              request.body = bodyOf(nextRpcId());
            },
          },
          size === PAYLOAD_SIZES[0],
        );
        points.push({
          size: size.label,
          path: p.path,
          requestBytes: first.length,
          responseBytes: Buffer.byteLength(answer.text),
          point,
        });
        errorNotes(`${size.label} via ${p.path}`, point, notes);
        process.stderr.write(
          `scale payloads ${size.label} ${p.path}: ${fmt(point.rate)} calls/s\n`,
        );
      }
    }
  } catch (error) {
    failures.push([
      "-",
      "-",
      `failed: ${(error as Error).message.replace(/\s+/g, " ").slice(0, 200)}`,
    ]);
  } finally {
    await Promise.all(started.map((c) => c.stop()));
  }
  const kb = (bytes: number) => fmt(bytes / 1024, 1);
  const rows = [
    ...points.map((p) => [
      p.size,
      p.path,
      kb(p.requestBytes),
      kb(p.responseBytes),
      ...pointCells(p.point),
      fmt(p.point.ownCpuUsPerCall),
    ]),
    ...failures,
  ];
  const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`;
  notes.push(
    `limits raised for this curve: http.maxBodyBytes ${mib(DEFAULT_MAX_BODY_BYTES)} (the ` +
      `default) -> ${mib(MAX_BODY_BYTES)} on all three servers (a 1 MiB argument plus its ` +
      `JSON-RPC envelope is over the default: 413); the gateway's maxResultBytes ` +
      `${mib(DEFAULT_MAX_RESULT_BYTES)} (default) -> ${mib(MAX_RESULT_BYTES)} (the echo of ` +
      `1 MiB is about twice that: structuredContent plus the same JSON as text)`,
    "arguments: rows { id, text } of ~100 bytes (about 10,000 rows at 1 MiB), returned as " +
      "they came; validated on the way in and out; the audit keeps a redacted, bounded copy",
    "CPU µs/call: every server process of the path (the gateway's includes its upstream's); " +
      "own: the first process only (the gateway alone); the client (this process) builds " +
      "and reads every body too, so at 1 MiB calls/s may be the client's limit",
  );
  return {
    name: "payloads",
    title:
      "payload size: arguments and results through toolgate-read and through the gateway " +
      "(in front of a toolgate upstream)",
    header: [
      "arguments",
      "path",
      "req KB",
      "resp KB",
      "calls/s",
      "p50 ms",
      "p99 ms",
      "CPU µs/call",
      "errors",
      "own CPU µs",
    ],
    rows,
    notes,
    data: { points, maxBodyBytes: MAX_BODY_BYTES, maxResultBytes: MAX_RESULT_BYTES },
  };
}
