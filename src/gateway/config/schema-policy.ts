// A tool policy of the config file (an upstream's `defaults` or an entry of its `tools`).
import { SCOPE } from "../check-options.js";
import { bool, choice, duration, nonEmpty, rateLimit, section, stringList } from "./fields.js";

/** OAuth scopes: a list, or one space-separated string. */
export const scopes = () =>
  stringList({
    splitSpaces: true,
    item: (scope) => SCOPE.test(scope),
    expected:
      "must be a list of scope names (or one space-separated string); a scope has no spaces, quotes or backslashes",
  });

const POLICY_KEYS = "scopes, sideEffect, timeout, rateLimit, hidden, redact, description";

export const policySchema = section(
  {
    scopes: scopes()
      .optional()
      .meta({ type: "scopes", default: "`[]`: any caller with a valid token" })
      .describe("scopes the caller's token must carry"),
    sideEffect: choice(["read", "write"])
      .optional()
      .meta({
        type: "`read` or `write`",
        default: "`read` if the upstream marks it `readOnlyHint: true`, else `write`",
      })
      .describe("`write` tools need an idempotency key and are forwarded at most once per key"),
    timeout: duration()
      .optional()
      .meta({ type: "duration", default: "the upstream's `timeout`" })
      .describe("the deadline of one call"),
    rateLimit: rateLimit()
      .optional()
      .meta({ type: "`{ perPrincipal?, perTool? }`", default: "none" })
      .describe("budgets for this tool, on top of the gateway's"),
    hidden: bool()
      .optional()
      .meta({ type: "boolean", default: "`false`" })
      .describe("neither listed nor callable"),
    redact: stringList({ item: (key) => key !== "", expected: "must be a list of argument names" })
      .optional()
      .meta({ type: "list of argument names", default: "none" })
      .describe("argument names (any depth) the audit log masks"),
    description: nonEmpty()
      .optional()
      .meta({ type: "string", default: "the upstream's" })
      .describe("replaces what the model reads (pinning still checks the upstream's own text)"),
  },
  {
    nullIsEmpty: true,
    expected: `must be a tool policy: a mapping of ${POLICY_KEYS}`,
    doc: {
      title: "Tool policies",
      intro:
        "A policy is the value of `defaults` or of an entry under `tools`; a tool's entry overrides " +
        "its upstream's `defaults` key by key.",
    },
  },
);
