// The gateway as the package root exports it: loaded on first use. A server built with
// createToolServer alone never needs the gateway's MCP client, upstream transports and
// HTTP pool, nor the config loader's YAML parser; importing them with the package cost
// every process several MB of RSS at start.
import type { Gateway } from "./create-gateway.js";
import type { LoadOptions, LoadedConfig } from "./config/load-config.js";
import type { GatewayOptions } from "./options.js";

/**
 * Starts a gateway: connects every upstream (each first attempt is awaited; failures
 * are logged and retried with backoff), pins or checks their contracts, and returns the
 * gateway ready to `listen()`.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { createGateway: create } = await import("./create-gateway.js");
  return create(options);
}

/** Reads and loads a gateway config file (relative paths in it are relative to its directory). */
export async function loadGatewayConfig(file: string, opts?: LoadOptions): Promise<LoadedConfig> {
  const { loadGatewayConfig: load } = await import("./config/load-config.js");
  return load(file, opts);
}

/**
 * Loads gateway config text. `file` names the file in issues; relative paths in the text
 * resolve against `baseDir`.
 */
export async function parseGatewayConfig(
  text: string,
  opts: { file: string; baseDir: string; env?: NodeJS.ProcessEnv },
): Promise<LoadedConfig> {
  const { parseGatewayConfig: parse } = await import("./config/load-config.js");
  return parse(text, opts);
}
