// `toolgate/backends`: the detail types of backends (requests, credential requests,
// breaker states, a tool's backend declarations). httpBackend, the credential providers
// and their options are in the package root.
export type { BreakerState } from "./http-backend.js";
export type { BackendRequestInit } from "./client.js";
export type { CredentialRequest } from "./credential.js";
export type { BackendCallInit } from "../observability/backend-call.js";
export type { BackendUse } from "../tool/types.js";
