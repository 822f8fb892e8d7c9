// The interop matrix (issue 18): real clients (the MCP Inspector CLI on Node 22, the SDK v1
// client, the SDK v2 client, toolgate's client kit) against real servers over real
// transports (toolgate over HTTP and stdio; the gateway, started as users start it, in
// front of toolgate over HTTP and of unmodified server-everything and server-filesystem
// over stdio). Each cell asserts what the model would see: the typed error's type,
// retryable and message (read from the text, cross-checked with _meta and
// structuredContent), a usable result, a flagged replay, or a 401 the client must handle.
// The table is printed at the end (and by `npm test` after its summary).
//
// The Inspector column needs Node 22 and the Inspector from .ci/tools (`npm test` finds
// them); without them its cells fail under CI=true with TOOLGATE_REQUIRE_INTEGRATION=1
// and are reported as not run otherwise.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ERROR_TYPE_NAMES } from "../../src/errors/index.js";
import { INSPECTOR_SKIP } from "../helpers/process.js";
import { CLIENTS, CLIENT_TITLES, openCallers, type CallerSet } from "./clients.js";
import { judge } from "./expect.js";
import type { RunningGateway } from "./gateway.js";
import { Limiter } from "./limiter.js";
import { toolgateRows, upstreamFailureRows, type EndpointVariant, type Row } from "./rows.js";
import { Matrix } from "./table.js";
import {
  gatewayPrimers,
  openShared,
  startSharedGateway,
  toolgateHttp,
  toolgateStdio,
  viaGateway,
  type Connected,
  type Shared,
} from "./targets.js";
import { everythingRows, filesystemRows, gatewayRefusedRow } from "./third-party-rows.js";

/** Inspector processes at once (each is a Node 22 process; stdio ones start a server too). */
const INSPECTOR_SLOTS = 2;
const INSPECTOR_REQUIRED =
  process.env["CI"] === "true" && process.env["TOOLGATE_REQUIRE_INTEGRATION"] === "1";

const STDIO = "toolgate stdio";
const GATEWAY_GROUPS = [
  "gateway > toolgate HTTP",
  "gateway > third-party stdio",
  "gateway > failing HTTP upstreams",
] as const;
/** The last lines of a log, for a failed run. */
const tail = (text: string) => text.trimEnd().split("\n").slice(-60).join("\n");

const matrix = new Matrix(CLIENTS.map((name) => ({ name, title: CLIENT_TITLES[name] })));
let dir: string;
let shared: Shared;
let inspectors: Limiter<string>;

/**
 * One server's rows, every row against every client, concurrently (the Inspector's own
 * limit applies). `connect` starts what the rows need; the clients connect on first use
 * of an endpoint and are reused by every row on it.
 */
function group(server: string, rows: () => Row[], connect: () => Promise<Connected>): void {
  describe(server, { concurrency: true }, () => {
    let connected: Connected | undefined;
    const callerSets = new Map<EndpointVariant, Promise<CallerSet>>();
    const callersFor = (variant: EndpointVariant) => {
      let set = callerSets.get(variant);
      if (!set) {
        const reuse = variant === "main" ? connected!.client : undefined;
        set = openCallers(connected!.endpoint(variant), inspectors, reuse);
        callerSets.set(variant, set);
      }
      return set;
    };
    before(async () => {
      connected = await connect();
    });
    after(async () => {
      const sets = await Promise.allSettled(callerSets.values());
      await Promise.allSettled(
        sets.map((s) => (s.status === "fulfilled" ? s.value.close() : Promise.resolve())),
      );
      await connected?.close();
    });
    for (const row of rows()) {
      const record = matrix.row(server, row.label);
      for (const client of CLIENTS) {
        test(`${row.label} · ${CLIENT_TITLES[client]}`, async (t) => {
          if (client === "inspector" && INSPECTOR_SKIP) {
            if (INSPECTOR_REQUIRED) {
              record(client, { state: "failed", short: "Inspector/Node 22 missing" });
              assert.fail(`CI=true and TOOLGATE_REQUIRE_INTEGRATION=1: ${INSPECTOR_SKIP}`);
            }
            record(client, { state: "not run", why: "no Inspector" });
            t.skip(INSPECTOR_SKIP);
            return;
          }
          let verdict;
          try {
            const { callers } = await callersFor(row.endpoint);
            const cell = {
              client,
              id: randomUUID(),
              harness: connected!.harness,
              gateDir: shared.gateDir,
              filesDir: shared.filesDir,
              helloFile: shared.helloFile,
            };
            const args = row.args(cell);
            const seen = await callers[client].call(row.tool, args, row.around?.(cell, args));
            verdict = judge(row.expect, client, seen);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            verdict = {
              ok: false as const,
              short: `setup: ${message.slice(0, 40)}`,
              detail: message,
            };
          }
          record(client, verdict.ok ? { state: "ok" } : { state: "failed", short: verdict.short });
          assert.ok(verdict.ok, verdict.ok ? undefined : `${verdict.short}\n${verdict.detail}`);
        });
      }
    }
  });
}

test("the toolgate rows cover every error type of the registry, with and without an outputSchema", () => {
  for (const transport of ["http", "stdio"] as const) {
    const covered = new Set(
      toolgateRows({ prefix: "", transport }).flatMap((row) =>
        row.expect.kind === "error" ? [`${row.expect.type}/${String(row.expect.structured)}`] : [],
      ),
    );
    // Over HTTP a missing or refused token is a 401 (the refused-token row), never a result.
    const types = ERROR_TYPE_NAMES.filter((t) => transport === "stdio" || t !== "unauthenticated");
    for (const type of types) {
      for (const structured of [false, true]) {
        assert.ok(
          covered.has(`${type}/${structured}`),
          `${transport}: no row for ${type}/${structured}`,
        );
      }
    }
  }
});

describe("interop matrix", () => {
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-interop-"));
    const homes = Array.from({ length: INSPECTOR_SLOTS }, (_, i) => {
      const home = path.join(dir, `inspector-home-${i}`);
      mkdirSync(home);
      return home;
    });
    inspectors = new Limiter(homes);
    shared = await openShared(dir);
  });

  after(async () => {
    const table = matrix.render();
    // `npm test` prints it after its summary (scripts/run-tests.mjs), where it is easy to find.
    const file = process.env["TOOLGATE_INTEROP_MATRIX_FILE"];
    if (file) writeFileSync(file, `${table}\n`);
    else console.log(`\n${table}\n`);
    try {
      const stdioLog =
        shared && existsSync(shared.stdioLog) ? readFileSync(shared.stdioLog, "utf8") : "";
      if (matrix.failedIn(STDIO) && stdioLog.trim() !== "") {
        console.log(`warnings of the stdio servers:\n${tail(stdioLog)}`);
      }
      await shared?.close();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  group(
    "toolgate HTTP",
    () => toolgateRows({ prefix: "", transport: "http" }),
    () => toolgateHttp(shared),
  );
  group(
    STDIO,
    () => toolgateRows({ prefix: "", transport: "stdio" }),
    () => toolgateStdio(shared),
  );

  describe("gateway", () => {
    let gateway: RunningGateway | undefined;
    before(async () => {
      gateway = await startSharedGateway(shared);
      // Its tools stay listed while the gateway waits to restart it: calls get unavailable.
      await gateway.killDownUpstream();
    });
    after(async () => {
      if (gateway && GATEWAY_GROUPS.some((g) => matrix.failedIn(g))) {
        console.log(`the gateway's log:\n${tail(gateway.log())}`);
      }
      await gateway?.stop();
    });
    group(
      GATEWAY_GROUPS[0],
      () => toolgateRows({ prefix: "tg.", transport: "http" }),
      () => viaGateway(shared, gateway!, gatewayPrimers.toolgate()),
    );
    group(
      GATEWAY_GROUPS[1],
      () => [...everythingRows(), ...filesystemRows(), gatewayRefusedRow],
      () => viaGateway(shared, gateway!, gatewayPrimers.thirdParty(shared)),
    );
    // Last: a gateway that crashes on these would take every later cell with it.
    group(GATEWAY_GROUPS[2], upstreamFailureRows, () => viaGateway(shared, gateway!, []));
  });
});
