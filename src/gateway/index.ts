// `toolgate/gateway`: a gateway in front of existing MCP servers, built from options
// (createGateway) or from a toolgate.yaml (loadGatewayConfig, parseGatewayConfig). The
// functions load the gateway's modules on first call (see entry.ts): importing this
// entry stays cheap.
export { createGateway, loadGatewayConfig, parseGatewayConfig } from "./entry.js";
export type { Gateway, QuarantinedTool, UpstreamStatus } from "./create-gateway.js";
export type {
  GatewayOptions,
  PinningOptions,
  StdioUpstream,
  ToolPolicy,
  UpstreamOptions,
} from "./options.js";
export { ConfigError } from "./config/config-error.js";
export type { ConfigIssue, LoadedConfig } from "./config/load-config.js";
