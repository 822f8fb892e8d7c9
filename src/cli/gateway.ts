// `toolgate gateway --config toolgate.yaml`: the gateway as a process. Loading and
// checking the file lives in src/gateway/config/, the gateway in src/gateway/; this file
// parses flags, prints where it listens, and stops cleanly on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import type { LoadedConfig } from "../gateway/config/load-config.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export const usage = `Usage: toolgate gateway --config FILE [--host ADDR] [--port N] [--stdio] [--check]

Runs the toolgate pipeline (auth, scopes, validation, idempotency, deadlines, rate
limits, audit) in front of existing MCP servers listed in the config file, publishing
their tools as <prefix>.<tool>. The file format: docs/gateway.md#config-reference.

  --config FILE   the gateway's YAML config (default toolgate.yaml)
  --host ADDR     overrides listen.host
  --port N        overrides listen.port (0 for any free port)
  --stdio         serve MCP over stdin/stdout instead of HTTP (logs go to stderr)
  --check         check the config file and exit; serves nothing. Policy entries under
                  upstreams.<u>.tools must name tools the upstream offers: checked
                  against the lock file, else by starting the upstream, listing its
                  tools and stopping it
  -h, --help      show this help

Exit codes: 0 stopped by SIGINT/SIGTERM (or --check passed), 1 config errors (also a
policy for a tool its upstream does not offer) or startup failure, 2 usage errors,
3 (--check) no errors found, but an upstream could not be reached to check its tool names.
`;

/** --check: the file is sound, but some tool names could not be checked. */
const EXIT_UNCHECKED = 3;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        host: { type: "string" },
        port: { type: "string", short: "p" },
        stdio: { type: "boolean" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  const file = values.config ?? "toolgate.yaml";
  if (file === "") throw new UsageError("--config needs a file name");
  let port: number | undefined;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535))
      throw new UsageError(`--port '${values.port}' is not a port number (0-65535)`);
  }
  if (values.host !== undefined && values.host.trim() === "")
    throw new UsageError("--host needs an address");
  if (values.stdio && (values.host !== undefined || port !== undefined))
    throw new UsageError("--stdio serves no HTTP: drop --host and --port");

  const { ConfigError, formatIssue, loadGatewayConfig } =
    await import("../gateway/config/load-config.js");
  let loaded;
  try {
    loaded = await loadGatewayConfig(file, { env: io.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`toolgate gateway: ${file} has errors:\n${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (values.check) return check(file, loaded, io);

  const host = values.host ?? loaded.listen.host;
  // The file's `auth: none` is checked against listen.host; --host must not get around it.
  if (!values.stdio && loaded.options.auth === undefined && !LOOPBACK.test(host)) {
    io.stderr(
      `toolgate gateway: ${file} has auth: none, which is only allowed on a loopback address; ` +
        `--host ${host} would serve anonymous calls to the network. Configure auth (jwt, introspection) or bind 127.0.0.1.\n`,
    );
    return 1;
  }
  const { createGateway } = await import("../gateway/create-gateway.js");
  const { UnknownToolPolicyError, describeUnmatched, policyPath } =
    await import("../gateway/tool-policies.js");
  let gateway;
  try {
    gateway = await createGateway(loaded.options);
  } catch (error) {
    await loaded.options.store?.close();
    if (!(error instanceof UnknownToolPolicyError)) throw error;
    const issues = error.unmatched.map((u) => loaded.issueAt(policyPath(u), describeUnmatched(u)));
    io.stderr(`toolgate gateway: ${file} has errors:\n${issues.map(formatIssue).join("\n")}\n`);
    return 1;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    io.signal?.addEventListener("abort", stop, { once: true });
  });
  try {
    const summary = () => {
      const up = gateway.upstreams().map((u) => `${u.name} (${u.state}, ${u.tools} tools)`);
      const held = gateway.quarantined();
      const byPolicy = held.some((q) => q.reason === "policy");
      return (
        `  upstreams: ${up.join(", ")}\n  tools: ${gateway.tools().length} published` +
        (held.length > 0
          ? `, ${held.length} quarantined (${held.map((q) => q.name).join(", ")}): ` +
            (byPolicy
              ? `a policy in ${file} names a tool its upstream does not offer (see the log)\n`
              : `review with toolgate contract check --config ${file}\n`)
          : "\n")
      );
    };
    if (values.stdio) {
      io.stderr(`toolgate gateway serving MCP on stdio\n${summary()}`);
      await Promise.race([gateway.handleStdio(), stopped]);
      return 0;
    }
    const address = await gateway.listen({ host, port: port ?? loaded.listen.port });
    // stdout: the one line a script waits for; the rest of the story is on stderr.
    io.stdout(`toolgate gateway listening on ${address.url}\n`);
    io.stderr(summary());
    await stopped;
    return 0;
  } finally {
    await gateway.close();
    // The file's store belongs to this command, not to the gateway: close it too, or an
    // open PostgreSQL pool or Redis connection would keep the process alive.
    await loaded.options.store?.close();
  }
}

/**
 * `--check`: the file (already loaded without errors), then the tool names its policies
 * use. Starts upstreams only for names the lock file cannot confirm, and stops them.
 */
async function check(file: string, loaded: LoadedConfig, io: CliIo): Promise<number> {
  const { formatIssue } = await import("../gateway/config/config-error.js");
  const { checkToolNames } = await import("../gateway/check-tool-names.js");
  const { describeUnmatched, policyPath } = await import("../gateway/tool-policies.js");
  const checks = await checkToolNames(loaded.options);
  const issues = checks.flatMap((c) =>
    c.outcome === "unmatched"
      ? c.unmatched.map((u) => loaded.issueAt(policyPath(u), describeUnmatched(u)))
      : [],
  );
  if (issues.length > 0) {
    io.stderr(`toolgate gateway: ${file} has errors:\n${issues.map(formatIssue).join("\n")}\n`);
    return 1;
  }
  const names = Object.keys(loaded.options.upstreams);
  const count = `${names.length} upstream${names.length === 1 ? "" : "s"} (${names.join(", ")})`;
  const unchecked = checks.flatMap((c) => (c.outcome === "unchecked" ? [c] : []));
  const how = new Map(
    checks.map((c) => [
      c.upstream,
      c.outcome === "ok"
        ? {
            none: "no tool policies",
            lock: "tool names pinned in the lock",
            upstream: "tool names listed by the upstream",
          }[c.source]
        : "tool names NOT checked",
    ]),
  );
  io.stdout(
    (unchecked.length === 0
      ? `${file} is valid: ${count}\n`
      : `${file} has no errors, but not every tool name could be checked: ${count}\n`) +
      loaded.summary.map((line, i) => `  ${line}; ${how.get(names[i] ?? "") ?? ""}\n`).join(""),
  );
  if (unchecked.length === 0) return 0;
  for (const c of unchecked) {
    io.stderr(
      `toolgate gateway: ${file}: upstreams.${c.upstream}.tools: could not check ${c.names.map((n) => `'${n}'`).join(", ")}: ` +
        `the lock file does not pin them and upstream '${c.upstream}' could not be listed: ${c.reason}. ` +
        "Make the upstream reachable and check again (the gateway refuses to start on a policy for a tool its upstream does not offer).\n",
    );
  }
  return EXIT_UNCHECKED;
}
