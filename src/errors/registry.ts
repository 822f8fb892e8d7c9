/**
 * The one registry of error types a tool call can fail with (see the error contract).
 * Adding a type is an API change: the table in docs/errors.md (and the README) and `test/unit/errors.test.ts`
 * check that every entry is documented and produced by at least one test.
 */
export const ERROR_TYPES = {
  invalid_input: {
    retryable: false,
    httpStatus: 400,
    message: "The arguments do not match the tool's input schema.",
  },
  unauthenticated: {
    retryable: false,
    httpStatus: 401,
    message: "The call carries no valid credential. Sign in again and retry with a fresh token.",
  },
  forbidden: {
    retryable: false,
    httpStatus: 403,
    message: "The caller is not allowed to use this tool.",
  },
  not_found: {
    retryable: false,
    httpStatus: 404,
    message: "The requested item does not exist.",
  },
  conflict: {
    retryable: false,
    httpStatus: 409,
    message: "The request conflicts with the current state.",
  },
  in_progress: {
    retryable: true,
    httpStatus: 409,
    message: "The same operation is still running. Retry with the same arguments shortly.",
  },
  rate_limited: {
    retryable: true,
    httpStatus: 429,
    message: "Too many calls. Wait and retry.",
  },
  timeout: {
    retryable: true,
    httpStatus: 504,
    message: "The call did not finish before its deadline.",
  },
  unavailable: {
    retryable: true,
    httpStatus: 503,
    message: "A service this tool depends on is unavailable. Retry later.",
  },
  internal: {
    retryable: false,
    httpStatus: 500,
    message: "The tool failed unexpectedly. Report the incident id if this keeps happening.",
  },
} as const satisfies Record<string, { retryable: boolean; httpStatus: number; message: string }>;

export type ErrorType = keyof typeof ERROR_TYPES;

export const ERROR_TYPE_NAMES = Object.freeze(Object.keys(ERROR_TYPES)) as readonly ErrorType[];

export function isErrorType(value: unknown): value is ErrorType {
  return typeof value === "string" && Object.hasOwn(ERROR_TYPES, value);
}
