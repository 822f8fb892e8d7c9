// Summarises V8 CPU profiles (`node --cpu-prof`, e.g. the bench's
// `--node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"`): the top functions by self time
// and by total time (a function counted once per sample however deep it recurses), the
// top files by self time, and with --callers=NAME the stacks a function is called from.
// Percentages are of the profile's sampled time, idle included (the idle row says how
// much of it the process waited); "busy %" leaves idle and GC-free waits out.
//
//   npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top=N] [--match=TEXT]
//                                    [--callers=FUNCTION] [--callees=FUNCTION] [--depth=N]
//                                    [--calls=N]
//
// --callers=FUNCTION: the stacks (DEPTH frames) that lead to functions whose name includes
// FUNCTION. --callees=FUNCTION: where the time of such functions goes: their own time and
// each direct callee's inclusive time (a native a function calls, e.g. JSON.parse, shows
// as its own time: V8 samples no frame for it).
//
// --calls=N: the number of calls the process served while profiled; times are then also
// shown per call (µs), e.g. to set a function's cost against the bench's CPU µs/call.
//
// A directory: every .cpuprofile in it, or with --match only those whose scripts include
// TEXT (e.g. --match=gateway/forward picks the gateway's process out of the bench's three).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

function option(name: string): string | undefined {
  const arg = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  return arg === undefined ? undefined : arg.slice(name.length + 3);
}

const TOP = Number(option("top") ?? 25);
const MATCH = option("match");
const CALLERS = option("callers");
const CALLEES = option("callees");
const DEPTH = Number(option("depth") ?? 6);
const CALLS = option("calls") === undefined ? undefined : Number(option("calls"));
const target = process.argv.slice(2).find((a) => !a.startsWith("--"));
if (!target) {
  console.error(
    "usage: profile-summary <file.cpuprofile | dir> [--top=N] [--match=TEXT] [--callers=FN] [--depth=N]",
  );
  process.exit(2);
}

/** A short, stable name for a script: the part after node_modules/ or the last folders. */
function shortFile(url: string): string {
  if (url === "") return "(native)";
  const clean = url.replace(/^file:\/\//, "");
  const modules = clean.lastIndexOf("node_modules/");
  if (modules >= 0) return clean.slice(modules + "node_modules/".length);
  const src = clean.lastIndexOf("/src/");
  if (src >= 0) return clean.slice(src + 1);
  return clean.split("/").slice(-2).join("/");
}

function frameKey(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return name;
  return `${name} ${shortFile(frame.url)}:${frame.lineNumber + 1}`;
}

function pct(part: number, whole: number): string {
  return whole === 0 ? "-" : `${((100 * part) / whole).toFixed(1)}%`;
}

function table(title: string, rows: [string, number][], total: number, busy: number): void {
  console.log(`\n${title}`);
  console.log(`      ms   total%   busy%${CALLS ? "  µs/call" : ""}  what`);
  for (const [what, us] of rows.slice(0, TOP)) {
    const ms = (us / 1000).toFixed(0).padStart(8);
    const ofBusy = what.startsWith("(idle)") ? "-" : pct(us, busy);
    const perCall = CALLS ? `  ${(us / CALLS).toFixed(1).padStart(7)}` : "";
    console.log(`${ms}  ${pct(us, total).padStart(7)} ${ofBusy.padStart(7)}${perCall}  ${what}`);
  }
}

function summarise(file: string, profile: Profile): void {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Time per sample: the delta to the next sample (V8's own attribution).
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    const next = deltas[i + 1] ?? 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const selfOf = new Map<string, number>();
  const fileOf = new Map<string, number>();
  const totalOf = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const key = frameKey(node.callFrame);
    selfOf.set(key, (selfOf.get(key) ?? 0) + us);
    if (node.callFrame.functionName === "(idle)") idle += us;
    const fileKey = node.callFrame.url
      ? shortFile(node.callFrame.url)
      : `(${node.callFrame.functionName || "native"})`;
    fileOf.set(fileKey, (fileOf.get(fileKey) ?? 0) + us);
    // Total: every distinct function on the stack of this node, once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const k = frameKey(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      totalOf.set(k, (totalOf.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`\n=== ${file}`);
  console.log(
    `sampled ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms (${pct(idle, total)}), busy ${(busy / 1000).toFixed(0)} ms` +
      (CALLS ? ` (${(busy / CALLS).toFixed(0)} µs per call)` : ""),
  );
  table("top functions by self time", sorted(selfOf), total, busy);
  table(
    "top functions by total time (inclusive)",
    sorted(totalOf).filter(([k]) => !k.startsWith("(root)")),
    total,
    busy,
  );
  table("top files by self time", sorted(fileOf), total, busy);
  table(
    "owners: each sample charged to the nearest frame of this repo's files or of a package " +
      "(Node's internals and native code are charged to whoever called them)",
    sorted(ownerTimes(byId, parent, selfUs)),
    total,
    busy,
  );
  if (CALLERS) callers(profile, byId, parent, selfUs, busy);
  if (CALLEES) callees(profile, byId, parent, selfUs, busy);
}

/** The owner of a script: src/<file>, bench/<file> or a package name; undefined for Node's own. */
function ownerOf(url: string): string | undefined {
  if (url === "" || url.startsWith("node:")) return undefined;
  const clean = url.replace(/^file:\/\//, "");
  const modules = clean.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = clean.slice(modules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (!clean.startsWith("/")) return undefined; // wasm, evalmachine, ...
  return shortFile(url);
}

function ownerTimes(
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
  selfUs: Map<number, number>,
): Map<string, number> {
  const owners = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let owner: string | undefined;
    for (let at: number | undefined = id; at !== undefined && !owner; at = parent.get(at))
      owner = ownerOf(byId.get(at)?.callFrame.url ?? "");
    const name = byId.get(id)?.callFrame.functionName ?? "";
    const key = owner ?? (name.startsWith("(") ? name : "(node, no caller of ours)");
    owners.set(key, (owners.get(key) ?? 0) + us);
  }
  return owners;
}

/** Inclusive time of every node: its own plus its subtree's. */
function inclusiveTimes(
  profile: Profile,
  byId: Map<number, ProfileNode>,
  selfUs: Map<number, number>,
): Map<number, number> {
  const inclusive = new Map<number, number>();
  const visit = (id: number): number => {
    const node = byId.get(id);
    let sum = selfUs.get(id) ?? 0;
    for (const child of node?.children ?? []) sum += visit(child);
    inclusive.set(id, sum);
    return sum;
  };
  const root = profile.nodes[0];
  if (root) visit(root.id);
  return inclusive;
}

/** Where the time of functions whose name includes CALLEES goes (outermost frames only). */
function callees(
  profile: Profile,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
  selfUs: Map<number, number>,
  busy: number,
): void {
  const name = CALLEES as string;
  const inclusive = inclusiveTimes(profile, byId, selfUs);
  const parts = new Map<string, number>();
  let whole = 0;
  for (const node of profile.nodes) {
    if (!node.callFrame.functionName.includes(name)) continue;
    let nested = false;
    for (let at = parent.get(node.id); at !== undefined; at = parent.get(at))
      if (byId.get(at)?.callFrame.functionName.includes(name)) nested = true;
    if (nested) continue;
    whole += inclusive.get(node.id) ?? 0;
    const own = "(own time, natives it calls included)";
    parts.set(own, (parts.get(own) ?? 0) + (selfUs.get(node.id) ?? 0));
    for (const child of node.children ?? []) {
      const frame = byId.get(child)?.callFrame;
      if (!frame) continue;
      const key = frameKey(frame);
      parts.set(key, (parts.get(key) ?? 0) + (inclusive.get(child) ?? 0));
    }
  }
  const perCall = (us: number) => (CALLS ? `${(us / CALLS).toFixed(1).padStart(7)} µs/call` : "");
  console.log(`\ncallees of *${name}*: ${(whole / 1000).toFixed(0)} ms in all ${perCall(whole)}`);
  for (const [what, us] of [...parts.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(
      `${(us / 1000).toFixed(0).padStart(8)} ms ${pct(us, busy).padStart(7)} ${perCall(us)}  ${what}`,
    );
  }
}

/** The stacks (up to DEPTH callers) leading to functions whose name includes CALLERS. */
function callers(
  profile: Profile,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
  selfUs: Map<number, number>,
  busy: number,
): void {
  const inclusive = inclusiveTimes(profile, byId, selfUs);
  const stacks = new Map<string, number>();
  for (const node of profile.nodes) {
    if (!node.callFrame.functionName.includes(CALLERS as string)) continue;
    // Outermost match only: a recursive function's inner frames are in its total already.
    let nested = false;
    for (let at = parent.get(node.id); at !== undefined; at = parent.get(at))
      if (byId.get(at)?.callFrame.functionName.includes(CALLERS as string)) nested = true;
    if (nested) continue;
    const chain: string[] = [];
    for (
      let at: number | undefined = node.id;
      at !== undefined && chain.length <= DEPTH;
      at = parent.get(at)
    ) {
      const frame = byId.get(at)?.callFrame;
      if (frame) chain.push(frameKey(frame));
    }
    const key = chain.join("\n      <- ");
    stacks.set(key, (stacks.get(key) ?? 0) + (inclusive.get(node.id) ?? 0));
  }
  console.log(`\ncallers of *${CALLERS}* (inclusive time per stack)`);
  for (const [stack, us] of [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${pct(us, busy).padStart(7)}  ${stack}`);
  }
}

// `| head` closes stdout early: stop quietly rather than with an EPIPE stack trace.
process.stdout.on("error", () => process.exit(0));

const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(target, f))
  : [target];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  if (MATCH && !text.includes(MATCH)) continue;
  summarise(file, JSON.parse(text) as Profile);
}
