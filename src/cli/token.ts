// `toolgate token`: mints a dev access token. Parses flags and calls devIssuer(); the
// token rules (lifetime cap, audience default, claims) live in the library.
import { parseArgs } from "node:util";
import { decodeJwt } from "jose";
import { MAX_DEV_TOKEN_TTL_SEC, devIssuer } from "../auth/dev-issuer.js";
import { DEFAULT_DEV_KEY_FILE } from "../auth/dev-keys.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";

export const usage = `Usage: toolgate token --sub SUBJECT [options]

Mints a short-lived access token from the local dev issuer (development and tests
only; refused with NODE_ENV=production). Prints only the token, so
TOKEN=$(toolgate token --sub alice --scope orders:read) works.

Options:
  --sub SUBJECT      who the token is for (required)
  --scope "A B"      space-separated scopes; the flag may be repeated
  --ttl DURATION     lifetime: 90s, 15m, 1h or plain seconds; at most 1h (default 15m)
  --audience URL     the server's URL (default: the one the server recorded in the key file)
  --tenant TENANT    the tenant claim
  --client-id ID     the client_id claim
  --key-file PATH    the dev issuer key file (default ${DEFAULT_DEV_KEY_FILE})
  --json             print { access_token, token_type, expires_in, scope, audience }
  -h, --help         show this help
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        sub: { type: "string" },
        scope: { type: "string", multiple: true },
        ttl: { type: "string" },
        audience: { type: "string" },
        tenant: { type: "string" },
        "client-id": { type: "string" },
        "key-file": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (values.sub === undefined || values.sub.trim() === "") {
    throw new UsageError("--sub is required");
  }
  const ttlSec = values.ttl === undefined ? undefined : parseTtl(values.ttl);

  const issuer = await devIssuer({
    env: io.env,
    ...(values["key-file"] === undefined ? {} : { keyFile: values["key-file"] }),
  });
  const audience = values.audience ?? issuer.audience;
  if (audience === undefined) {
    throw new UsageError(
      "no audience: start the server first (it records its URL in the key file) " +
        "or pass --audience URL",
    );
  }
  const token = await issuer.mint({
    sub: values.sub,
    audience,
    ...(values.scope === undefined ? {} : { scope: values.scope.join(" ") }),
    ...(ttlSec === undefined ? {} : { ttlSec }),
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
    ...(values["client-id"] === undefined ? {} : { clientId: values["client-id"] }),
  });

  if (!values.json) {
    io.stdout(`${token}\n`);
    return 0;
  }
  // Read back from the token itself, so the JSON can never disagree with what was signed.
  const claims = decodeJwt(token);
  const response = {
    access_token: token,
    token_type: "Bearer",
    expires_in: (claims.exp ?? 0) - (claims.iat ?? 0),
    scope: typeof claims.scope === "string" ? claims.scope : "",
    audience,
  };
  io.stdout(`${JSON.stringify(response, null, 2)}\n`);
  return 0;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { "": 1, s: 1, m: 60, h: 3600 };

/** `90s`, `15m`, `1h` or plain seconds, checked against the dev token lifetime cap. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smh]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? ""] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new UsageError(`--ttl '${text}' is not a duration; use e.g. 90s, 15m, 1h or 600`);
  }
  if (seconds > MAX_DEV_TOKEN_TTL_SEC) {
    throw new UsageError(
      `--ttl ${text} is longer than 1h; dev tokens are short-lived (at most 1h)`,
    );
  }
  return seconds;
}
