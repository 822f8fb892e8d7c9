// Scale curve "tools": one server (createToolServer, dev-issuer auth, audit to SQLite)
// with 10, 1,000 and 10,000 echo tools (defineTool in a loop). For each: tools/list (its
// first page, and the walk of every page by nextCursor: pages, bytes, ms), and the cost
// of calling one of the tools (the last defined) under load.
import path from "node:path";
import { startServer, type Child } from "../children.js";
import { HEADERS, median, nextRpcId, post, withCpu } from "../drive.js";
import {
  callBody,
  count,
  devToken,
  errorNotes,
  fmt,
  measurePoint,
  pointCells,
  type CurveResult,
  type Point,
  type ScaleContext,
} from "./common.js";

export const TOOL_COUNTS = [10, 1_000, 10_000] as const;
/** tools/list requests per server: at least this many, and for at least LIST_MS. */
const LIST_RUNS = 5;
const LIST_MS = 1_000;

interface ListFigures {
  /** The first page: median ms (client wall time, one request at a time), bytes, tools. */
  firstMs: number;
  firstBytes: number;
  firstTools: number;
  /** Server CPU per first-page request, µs. */
  cpuUsPerList: number;
  /** Every page by nextCursor: pages, bytes, ms (median of the walks). */
  pages: number;
  walkBytes: number;
  walkMs: number;
  walkTools: number;
}

const listBody = (cursor?: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: nextRpcId(),
    method: "tools/list",
    params: cursor === undefined ? {} : { cursor },
  });

/** One tools/list page: its tools, nextCursor, bytes and wall time. */
async function listPage(url: string, headers: Record<string, string>, cursor?: string) {
  const t0 = performance.now();
  const res = await post(url, headers, listBody(cursor));
  const ms = performance.now() - t0;
  const result = (res.message as { result?: { tools?: unknown[]; nextCursor?: string } })?.result;
  if (res.status !== 200 || !Array.isArray(result?.tools)) {
    throw new Error(`tools/list: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  }
  const bytes = Buffer.byteLength(res.text);
  return { tools: result.tools.length, nextCursor: result.nextCursor, bytes, ms };
}

async function listFigures(child: Child, headers: Record<string, string>): Promise<ListFigures> {
  const firsts: { bytes: number; ms: number; tools: number }[] = [];
  const { cpuUs } = await withCpu([child], async () => {
    const t0 = performance.now();
    while (firsts.length < LIST_RUNS || performance.now() - t0 < LIST_MS) {
      firsts.push(await listPage(child.url, headers));
    }
  });
  const walks: { pages: number; bytes: number; ms: number; tools: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const walk = { pages: 0, bytes: 0, ms: 0, tools: 0 };
    let cursor: string | undefined;
    do {
      const page = await listPage(child.url, headers, cursor);
      walk.pages += 1;
      walk.bytes += page.bytes;
      walk.ms += page.ms;
      walk.tools += page.tools;
      cursor = page.nextCursor;
    } while (cursor !== undefined && walk.pages < 100_000);
    walks.push(walk);
  }
  return {
    firstMs: median(firsts.map((f) => f.ms)),
    firstBytes: firsts[0]?.bytes ?? Number.NaN,
    firstTools: firsts[0]?.tools ?? Number.NaN,
    cpuUsPerList: (cpuUs[0] ?? Number.NaN) / firsts.length,
    pages: walks[0]?.pages ?? Number.NaN,
    walkBytes: walks[0]?.bytes ?? Number.NaN,
    walkMs: median(walks.map((w) => w.ms)),
    walkTools: walks[0]?.tools ?? Number.NaN,
  };
}

interface ToolsPoint {
  tools: number;
  startS?: number;
  list?: ListFigures;
  call?: Point;
  failed?: string;
}

async function measureTools(ctx: ScaleContext, n: number): Promise<ToolsPoint> {
  const t0 = performance.now();
  const child = await startServer(`scale-tools-${n}`, {
    kind: "scale-tools",
    count: n,
    keyFile: ctx.keyFile,
    auditFile: path.join(ctx.dir, `tools-${n}-audit.sqlite`),
  });
  const startS = (performance.now() - t0) / 1000;
  try {
    const headers = { ...HEADERS, authorization: await devToken(ctx, child.url) };
    const list = await listFigures(child, headers);
    const tool = `tool_${String(n - 1).padStart(5, "0")}`;
    const call = await measurePoint(
      ctx,
      [child],
      {
        url: child.url,
        headers,
        setup: (request) => {
          request.body = callBody(nextRpcId(), tool);
        },
      },
      true,
    );
    return { tools: n, startS, list, call };
  } finally {
    await child.stop();
  }
}

export async function toolsCurve(ctx: ScaleContext): Promise<CurveResult> {
  const notes: string[] = [];
  const points: ToolsPoint[] = [];
  for (const n of TOOL_COUNTS) {
    try {
      const point = await measureTools(ctx, n);
      points.push(point);
      errorNotes(`${count(n)} tools`, point.call, notes);
      process.stderr.write(`scale tools ${count(n)}: ${fmt(point.call?.rate ?? NaN)} calls/s\n`);
    } catch (error) {
      points.push({ tools: n, failed: (error as Error).message });
    }
  }
  const paged = points.some((p) => (p.list?.pages ?? 1) > 1);
  notes.push(
    paged
      ? "tools/list is paged: the walk follows nextCursor to the last page"
      : "tools/list is not paged: every tool comes in one page (no nextCursor), so the first " +
          "page is the whole walk",
    "list ms: wall time of one tools/list request at a time (median), from this process; " +
      "list CPU: the server's per request; start s: spawn to listening, defineTool calls included",
    "tools/list goes through the MCP SDK's stateless handler (tools/call takes toolgate's " +
      "fast path); the listing is built once, then filtered by the caller's scopes per request",
  );
  const kb = (bytes: number) => fmt(bytes / 1024, 1);
  const rows = points.map((p) =>
    p.failed !== undefined || !p.list || !p.call
      ? [count(p.tools), `failed: ${(p.failed ?? "?").replace(/\s+/g, " ").slice(0, 200)}`]
      : [
          count(p.tools),
          fmt(p.startS ?? NaN, 1),
          fmt(p.list.firstMs, 2),
          kb(p.list.firstBytes),
          fmt(p.list.cpuUsPerList),
          String(p.list.pages),
          kb(p.list.walkBytes),
          fmt(p.list.walkMs, 2),
          ...pointCells(p.call),
          fmt(p.call.rssMb),
        ],
  );
  return {
    name: "tools",
    title:
      "tools on one server: createToolServer with N echo tools (dev-issuer auth, audit to " +
      "SQLite): tools/list, then tools/call of the last tool under load",
    header: [
      "tools",
      "start s",
      "list ms",
      "list KB",
      "list CPU µs",
      "pages",
      "walk KB",
      "walk ms",
      "calls/s",
      "p50 ms",
      "p99 ms",
      "CPU µs/call",
      "errors",
      "RSS MB",
    ],
    rows,
    notes,
    data: { points },
  };
}
