// The handler-facing types live with the tool (src/tool/backend-client.ts): a tool's
// context exposes them, and the inner layers import nothing from backends/.
export type { BackendClient, BackendRequestInit } from "../tool/backend-client.js";
