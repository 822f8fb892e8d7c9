// `toolgate/errors`: the error registry and the wire format of a tool error (what a
// result carries, how to read it back). ToolError, its typed constructors and ErrorType
// are in the package root; ERROR_META_KEY is in toolgate/client.
export { ERROR_TYPES, ERROR_TYPE_NAMES, isErrorType } from "./registry.js";
export { readWireError, toErrorResult } from "./to-result.js";
export type { ErrorResultOptions, WireError } from "./to-result.js";
