// `toolgate gateway --config toolgate.yaml`: the gateway as a process. Loading and
// checking the file lives in src/gateway/config/, the gateway in src/gateway/; this file
// parses flags, prints where it listens, and stops cleanly on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export const usage = `Usage: toolgate gateway --config FILE [--host ADDR] [--port N] [--stdio] [--check]

Runs the toolgate pipeline (auth, scopes, validation, idempotency, deadlines, rate
limits, audit) in front of existing MCP servers listed in the config file, publishing
their tools as <prefix>.<tool>. See the README's "Gateway" section for the file format.

  --config FILE   the gateway's YAML config (default toolgate.yaml)
  --host ADDR     overrides listen.host
  --port N        overrides listen.port (0 for any free port)
  --stdio         serve MCP over stdin/stdout instead of HTTP (logs go to stderr)
  --check         check the config file and exit (0 valid, 1 invalid); starts nothing
  -h, --help      show this help

Exit codes: 0 stopped by SIGINT/SIGTERM (or --check passed), 1 config errors or
startup failure, 2 usage errors.
`;

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

  const { ConfigError, loadGatewayConfig } = await import("../gateway/config/load-config.js");
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
  const upstreamNames = Object.keys(loaded.options.upstreams);
  if (values.check) {
    io.stdout(
      `${file} is valid: ${upstreamNames.length} upstream${upstreamNames.length === 1 ? "" : "s"} (${upstreamNames.join(", ")})\n`,
    );
    return 0;
  }

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
  const gateway = await createGateway(loaded.options);
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
      return (
        `  upstreams: ${up.join(", ")}\n  tools: ${gateway.tools().length} published` +
        (held.length > 0
          ? `, ${held.length} quarantined (${held.map((q) => q.name).join(", ")}): review with toolgate contract check --config ${file}\n`
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
