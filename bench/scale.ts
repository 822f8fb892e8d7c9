// The scale curves of `npm run bench`: how a call's cost grows with the work, one table
// each, after the comparison (bench/performance.ts calls runScale):
//   principals  1, 1,000 and 100,000 distinct JWKS-verified RS256 tokens in rotation
//   tools       10, 1,000 and 10,000 tools on one server: tools/list, then one tool's calls
//   stores      idempotent writes and rate limits on SQLite, Redis and PostgreSQL, beside
//               each store's raw ceiling
//   payloads    1 KiB, 100 KiB and 1 MiB arguments and results, direct and via the gateway
// Each point: a 0.5 s lead-in, then --scale-duration seconds of autocannon at
// --connections, the server processes' CPU read over IPC before and after.
// Results: bench/results/scale-<timestamp>.json (git-ignored).
//
// Options (flag or environment variable):
//   --no-scale              BENCH_SCALE=0        the comparison only
//   --only-scale            BENCH_ONLY_SCALE=1   the curves only (no comparison)
//   --scale=a,b             BENCH_SCALE=a,b      these curves only (principals, tools,
//                                                stores, payloads)
//   --scale-duration=S      BENCH_SCALE_DURATION_S  measured seconds per point (3)
//   BENCH_REDIS_URL (redis://127.0.0.1:6379/15), BENCH_POSTGRES_URL
//   (postgres://127.0.0.1:5432/test): the stores curve's services
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { devIssuer } from "../src/index.js";
import {
  ROOT,
  makeTempDir,
  prepareServers,
  removeTempDir,
  serverLogNotes,
  stopChildren,
} from "./children.js";
import { CONNECTIONS, listOption, numberOption, rawOption } from "./options.js";
import { tableLines, type CurveResult, type ScaleContext } from "./scale/common.js";
import { payloadsCurve } from "./scale/payloads.js";
import { principalsCurve } from "./scale/principals.js";
import { storesCurve } from "./scale/stores.js";
import { toolsCurve } from "./scale/tools.js";

const CURVES = {
  principals: principalsCurve,
  tools: toolsCurve,
  stores: storesCurve,
  payloads: payloadsCurve,
} as const;
type CurveName = keyof typeof CURVES;
const CURVE_NAMES = Object.keys(CURVES) as CurveName[];

export interface ScaleSelection {
  readonly curves: readonly CurveName[];
  /** The curves without the comparison. */
  readonly only: boolean;
  readonly seconds: number;
}

const flag = (name: string, envName: string) => {
  const raw = rawOption(name, envName);
  return raw !== undefined && raw !== "0" && raw !== "false";
};

/** Which curves the command line asks for (all by default). */
export function scaleSelection(): ScaleSelection {
  const only = flag("only-scale", "BENCH_ONLY_SCALE");
  const seconds = numberOption("scale-duration", "BENCH_SCALE_DURATION_S", 3);
  if (!(seconds > 0)) throw new TypeError("--scale-duration: must be more than 0 seconds");
  if (flag("no-scale", "BENCH_NO_SCALE") || process.env["BENCH_SCALE"] === "0") {
    if (only) throw new TypeError("--only-scale and --no-scale: nothing left to run");
    return { curves: [], only: false, seconds };
  }
  const asked = listOption("scale", "BENCH_SCALE");
  if (!asked || asked.length === 0) return { curves: CURVE_NAMES, only, seconds };
  const unknown = asked.filter((n) => !CURVE_NAMES.includes(n as CurveName));
  if (unknown.length > 0) {
    throw new TypeError(
      `--scale: unknown curve(s) ${unknown.join(", ")}; known: ${CURVE_NAMES.join(", ")}`,
    );
  }
  return { curves: CURVE_NAMES.filter((n) => asked.includes(n)), only, seconds };
}

function commit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

function printCurve(curve: CurveResult, seconds: number): void {
  console.log(`\nscale: ${curve.title}`);
  console.log(
    `(${seconds} s per point at ${CONNECTIONS} connections after a 0.5 s lead-in, 2 s before a server's first point)\n`,
  );
  for (const line of tableLines(curve.header, curve.rows)) console.log(line);
  for (const note of curve.notes) console.log(`note: ${note}`);
}

/** Runs the selected curves one after the other; a curve that throws is reported, not fatal. */
export async function runScale(selection: ScaleSelection): Promise<void> {
  if (selection.curves.length === 0) return;
  const t0 = performance.now();
  const notes = await prepareServers();
  const dir = makeTempDir("toolgate-bench-scale-");
  const keyFile = path.join(dir, "dev.json");
  const ctx: ScaleContext = {
    dir,
    issuer: await devIssuer({ keyFile }),
    keyFile,
    seconds: selection.seconds,
    connections: CONNECTIONS,
  };
  const results: (CurveResult | { name: string; failed: string })[] = [];
  console.log(
    `\ntoolgate scale curves: ${selection.curves.join(", ")}; Node ${process.version}, ` +
      `${cpus().length} CPUs, toolgate ${commit() ?? "?"}`,
  );
  for (const name of selection.curves) {
    process.stderr.write(`scale ${name}...\n`);
    try {
      const curve = await CURVES[name](ctx);
      results.push(curve);
      printCurve(curve, selection.seconds);
    } catch (error) {
      const failed = (error as Error).stack ?? String(error);
      results.push({ name, failed });
      console.log(`\nscale ${name}: FAILED: ${failed}`);
    } finally {
      await stopChildren();
    }
  }
  serverLogNotes(notes);
  if (notes.length > 0) console.log("");
  for (const note of notes) console.log(`note: ${note}`);
  removeTempDir(dir);
  const elapsedS = (performance.now() - t0) / 1000;
  console.log(`\nscale curves: ${elapsedS.toFixed(0)} s in all`);
  const resultsDir = path.join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(
    resultsDir,
    `scale-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  );
  const json = {
    bench: "scale",
    commit: commit(),
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    settings: { secondsPerPoint: selection.seconds, connections: CONNECTIONS, leadInS: 0.5 },
    curves: results,
    notes,
    elapsedS,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${path.relative(ROOT, file)}`);
}
