// A fake payments provider, started in-process by the demo so it runs with no accounts
// or network. It behaves like a real one where it matters to the tools: an OAuth 2.0
// token endpoint (client credentials) issuing scoped bearer tokens, Idempotency-Key
// replay, JSON errors, and (on request) outages and hangs. It logs nothing, so no secret
// can end up in a log.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LedgerEntry {
  id: string;
  status: "succeeded";
  order_id: string;
  amount_cents: number;
  reason: string;
  idempotency_key: string | null;
  created_at: string;
}

/** The scopes the token endpoint grants; a client gets both unless it asks for fewer. */
export const PAYMENTS_SCOPES = ["refunds:read", "refunds:write"] as const;

export interface PaymentsServiceOptions {
  /** The client secret of the one registered OAuth client (required: never a built-in default). */
  clientSecret: string;
  /** The registered client's id. Default "refunds-demo". */
  clientId?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1: the fake provider is never reachable from other machines. */
  host?: string;
}

/** A request the provider received, as it arrived (in memory, for tests; never printed). */
export interface SeenRequest {
  method: string;
  path: string;
  /** The Authorization header, verbatim. */
  authorization: string | undefined;
  idempotencyKey: string | undefined;
}

export interface PaymentsService {
  /** Base URL, e.g. `http://127.0.0.1:41234`; refunds are at `/v1/refunds`. */
  readonly url: string;
  /** The OAuth 2.0 token endpoint (RFC 6749 §3.2), `${url}/oauth/token`. */
  readonly tokenUrl: string;
  /** The registered client's id (the secret is the one it was started with). */
  readonly clientId: string;
  /**
   * An admin key with full access, random per start. For the provider's own tests only:
   * the demo never hands it to tools, which use scoped tokens from the token endpoint.
   */
  readonly apiKey: string;
  /** Refunds issued so far (a copy). */
  ledger(): LedgerEntry[];
  /** Access tokens issued so far, with their granted scope (for tests: least privilege). */
  issued(): { token: string; scope: string[] }[];
  /** Every request received so far, token requests included (for tests). */
  requests(): SeenRequest[];
  /** The next `times` refund requests fail with this HTTP status (e.g. 503). */
  failNext(status: number, times?: number): void;
  /** The next `times` refund requests never answer (until the caller gives up). */
  hangNext(times?: number): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const TOKEN_LIFETIME_S = 3600;

interface IssuedToken {
  scope: string[];
  expiresAt: number;
}

export async function startPaymentsService(
  options: PaymentsServiceOptions,
): Promise<PaymentsService> {
  const { clientSecret, clientId = "refunds-demo" } = options;
  if (typeof clientSecret !== "string" || clientSecret === "") {
    throw new TypeError("startPaymentsService: clientSecret must be a non-empty string.");
  }
  if (typeof clientId !== "string" || clientId === "") {
    throw new TypeError("startPaymentsService: clientId must be a non-empty string.");
  }
  const apiKey = `sk_test_${randomBytes(24).toString("base64url")}`;
  const ledger: LedgerEntry[] = [];
  // Idempotency-Key -> the request it was first used with and the refund it produced.
  const byKey = new Map<string, { params: string; entry: LedgerEntry }>();
  const tokens = new Map<string, IssuedToken>();
  const seen: SeenRequest[] = [];
  const faults: ("hang" | number)[] = [];

  /** The scopes the request's bearer token grants, or undefined for no valid token. */
  function grantedScope(req: IncomingMessage): readonly string[] | undefined {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? "");
    if (!match) return undefined;
    const token = match[1]!;
    if (sameSecret(token, apiKey)) return PAYMENTS_SCOPES;
    const issued = tokens.get(token);
    return issued && issued.expiresAt > Date.now() ? issued.scope : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? "/", "http://payments.invalid");
    seen.push({
      method: req.method ?? "",
      path: pathname,
      authorization: req.headers.authorization,
      idempotencyKey: headerValue(req.headers["idempotency-key"]),
    });
    if (pathname === "/oauth/token") return token(req, res);
    if (pathname !== "/v1/refunds") return send(res, 404, error("not_found", "No such route."));
    const granted = grantedScope(req);
    if (granted === undefined) {
      // RFC 6750 §3: no token is a bare challenge; a bad one says invalid_token.
      const challenge = req.headers.authorization
        ? 'Bearer realm="payments", error="invalid_token"'
        : 'Bearer realm="payments"';
      res.setHeader("www-authenticate", challenge);
      return send(res, 401, error("unauthorized", "Missing, unknown or expired access token."));
    }
    if (req.method !== "GET" && req.method !== "POST") {
      return send(res, 405, error("method_not_allowed", "Use GET or POST."));
    }
    // Least privilege at the provider too: reading and refunding are separate scopes.
    const needed = req.method === "GET" ? "refunds:read" : "refunds:write";
    if (!granted.includes(needed)) {
      res.setHeader(
        "www-authenticate",
        `Bearer realm="payments", error="insufficient_scope", scope="${needed}"`,
      );
      return send(res, 403, error("insufficient_scope", `This needs scope ${needed}.`));
    }
    if (req.method === "GET") return send(res, 200, { data: ledger });

    const raw = await readBody(req);
    const fault = faults.shift();
    if (fault === "hang") return; // Never answer; the socket closes when the caller aborts.
    if (typeof fault === "number") return send(res, fault, error("injected_fault", "Injected."));

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, error("invalid_json", "Body must be JSON."));
    }
    const { order_id, amount_cents, reason } = (body ?? {}) as Record<string, unknown>;
    if (
      typeof order_id !== "string" ||
      !Number.isSafeInteger(amount_cents) ||
      (amount_cents as number) <= 0 ||
      typeof reason !== "string"
    ) {
      return send(res, 400, error("invalid_request", "order_id, amount_cents, reason required."));
    }

    // Same key, same request: the first refund again, not a second one (as real providers do).
    const key = headerValue(req.headers["idempotency-key"]);
    const params = JSON.stringify([order_id, amount_cents, reason]);
    if (key !== undefined) {
      const prior = byKey.get(key);
      if (prior && prior.params !== params) {
        return send(res, 409, error("idempotency_key_reused", "Key used with other parameters."));
      }
      if (prior) return send(res, 201, view(prior.entry), { "idempotent-replayed": "true" });
    }
    const entry: LedgerEntry = {
      id: `re_${randomBytes(12).toString("hex")}`,
      status: "succeeded",
      order_id,
      amount_cents: amount_cents as number,
      reason,
      idempotency_key: key ?? null,
      created_at: new Date().toISOString(),
    };
    ledger.push(entry);
    if (key !== undefined) byKey.set(key, { params, entry });
    return send(res, 201, view(entry));
  }

  /**
   * The token endpoint: client credentials grant only (RFC 6749 §4.4), the client
   * authenticated with HTTP Basic (§2.3.1), errors as §5.2 JSON. Error descriptions never
   * echo what the client sent.
   */
  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fail = (status: number, code: string, description: string) => {
      // §5.2: a client that tried HTTP Basic and failed gets a Basic challenge.
      const challenge: Record<string, string> =
        status === 401 ? { "www-authenticate": 'Basic realm="payments"' } : {};
      send(
        res,
        status,
        { error: code, error_description: description },
        {
          ...NO_STORE,
          ...challenge,
        },
      );
    };
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return fail(405, "invalid_request", "The token endpoint accepts POST only.");
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      return fail(400, "invalid_request", "The body must be application/x-www-form-urlencoded.");
    }
    const form = new URLSearchParams(await readBody(req));
    // §3.2: parameters must not be repeated.
    const names = [...form.keys()];
    if (new Set(names).size !== names.length) {
      return fail(400, "invalid_request", "A parameter is repeated.");
    }
    const client = basicCredentials(req.headers.authorization);
    if (
      client === undefined ||
      form.has("client_secret") ||
      client.id !== clientId ||
      !sameSecret(client.secret, clientSecret)
    ) {
      return fail(401, "invalid_client", "Client authentication failed.");
    }
    const grant = form.get("grant_type");
    if (grant === null) return fail(400, "invalid_request", "grant_type is required.");
    if (grant !== "client_credentials") {
      return fail(400, "unsupported_grant_type", "Only client_credentials is supported.");
    }
    // §3.3: space-delimited; absent means the default (everything this client may have).
    const asked = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
    if (asked.some((s) => !(PAYMENTS_SCOPES as readonly string[]).includes(s))) {
      return fail(400, "invalid_scope", `Allowed scopes: ${PAYMENTS_SCOPES.join(" ")}.`);
    }
    const scope = asked.length > 0 ? [...new Set(asked)].sort() : [...PAYMENTS_SCOPES];
    const accessToken = `at_${randomBytes(24).toString("base64url")}`;
    tokens.set(accessToken, { scope, expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000 });
    return send(
      res,
      200,
      {
        access_token: accessToken,
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME_S,
        scope: scope.join(" "),
      },
      NO_STORE,
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, err instanceof BodyTooLarge ? 413 : 500, error("error", "Failed."));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port, family } = server.address() as AddressInfo;
  const host = family === "IPv6" ? `[${address}]` : address;
  const url = `http://${host}:${port}`;

  return {
    url,
    tokenUrl: `${url}/oauth/token`,
    clientId,
    apiKey,
    ledger: () => ledger.map((e) => ({ ...e })),
    issued: () => [...tokens].map(([t, { scope }]) => ({ token: t, scope: [...scope] })),
    requests: () => seen.map((r) => ({ ...r })),
    failNext(status, times = 1) {
      if (!Number.isInteger(status) || status < 400 || status > 599) {
        throw new RangeError("failNext: status must be an HTTP error status (400-599).");
      }
      for (let i = 0; i < times; i++) faults.push(status);
    },
    hangNext(times = 1) {
      for (let i = 0; i < times; i++) faults.push("hang");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // includes requests left hanging on purpose
      }),
  };
}

// RFC 6749 §5.1: token responses (and their errors) must not be cached.
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/**
 * The client id and secret of an HTTP Basic header. RFC 6749 §2.3.1: each is
 * form-urlencoded before they are joined with ":", so decode each part after splitting.
 */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
    return {
      id: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined; // malformed percent-encoding
  }
}

/**
 * Constant-time comparison of secrets: response timing must not reveal how much of a
 * secret matched. Hashing first gives equal lengths, so the length leaks nothing either.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** What the provider returns for a refund (the ledger keeps more). */
function view(entry: LedgerEntry) {
  return { id: entry.id, status: entry.status, amount_cents: entry.amount_cents };
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === "" ? undefined : v;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
