// The help text of `toolgate contract`, apart from the code so that every subcommand
// (contract.ts, contract-approve.ts) can print it on --help.
import { DEFAULT_LOCK_FILE } from "../contract/lock-file.js";

export const usage = `Usage: toolgate contract snapshot [--out FILE] SOURCE
       toolgate contract check [--lock FILE] [--strict] [--tolerant-reader] [--json] SOURCE
       toolgate contract approve --config FILE [--tool NAME]... [--lock FILE]

A tool's contract is what clients and models rely on: its name, version, description,
input and output schemas, annotations, scopes and side effect. 'snapshot' writes the
contracts to a lock file to commit; 'check' compares the current contracts with it and
fails on breaking changes and on changes without a version bump.

SOURCE, exactly one of:
  --module PATH      a JS/TS module exporting \`tools\` (defineTool results) or \`server\`
                     (createToolServer result), or either as its default export
  --url URL          a running MCP server (Streamable HTTP), asked for tools/list
  --header "N: V"    with --url: a request header, e.g. "Authorization: Bearer $TOKEN";
                     repeatable (with auth on, tools/list shows only what the token may call)
  --stdio "CMD ARGS" an MCP server started as a child process and asked over stdio
  --config FILE      a gateway's toolgate.yaml: every upstream's tools as the gateway
                     pins them (the lock defaults to the config's pinning.lockFile)
  --timeout TIME     bound for --url/--stdio: 10s, 1500ms or 1m; a bare integer is
                     milliseconds (default 10s, at most 10m)

snapshot:
  --out FILE         where to write the lock (default ${DEFAULT_LOCK_FILE}; - for stdout)

check:
  --lock FILE        the lock to compare with (default ${DEFAULT_LOCK_FILE})
  --strict           behavioural changes (descriptions, annotations) fail the check too
  --tolerant-reader  a new field in a closed output object, or an output object opened
                     to extra fields, is compatible: only if every client ignores fields
                     it does not know (clients that validate results reject them)
  --json             print the report as JSON: { changes, versionNotBumped }

With --config, check fails on any change: the gateway quarantines every changed tool.

approve (gateway): writes the upstreams' current contracts into the lock, which
releases quarantined tools (a running gateway notices within a second):
  --tool NAME        approve only this published tool (repeatable); default: every
                     changed, new or removed tool of the config's upstreams
  --lock FILE        the lock to update (default: the config's pinning.lockFile)

Exit codes (check): 0 no changes, or only compatible/behavioural ones; 1 breaking
changes, a contract changed without a version bump, behavioural changes with --strict,
or a missing/invalid lock or source; 2 usage errors.

  -h, --help         show this help
`;
