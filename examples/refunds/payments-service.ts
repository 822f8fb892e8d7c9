// A fake payments provider, started in-process by the demo so it runs with no accounts
// or network. It behaves like a real one where it matters to the tools: a bearer API
// key, Idempotency-Key replay, JSON errors, and (on request) outages and hangs.
import { randomBytes, timingSafeEqual } from "node:crypto";
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

export interface PaymentsServiceOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1: the fake provider is never reachable from other machines. */
  host?: string;
}

export interface PaymentsService {
  /** Base URL, e.g. `http://127.0.0.1:41234`; refunds are at `/v1/refunds`. */
  readonly url: string;
  /** Random per start, never hard-coded: only the server setup that started it holds it. */
  readonly apiKey: string;
  /** Refunds issued so far (a copy). */
  ledger(): LedgerEntry[];
  /** The next `times` refund requests fail with this HTTP status (e.g. 503). */
  failNext(status: number, times?: number): void;
  /** The next `times` refund requests never answer (until the caller gives up). */
  hangNext(times?: number): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startPaymentsService(
  options: PaymentsServiceOptions = {},
): Promise<PaymentsService> {
  const apiKey = `sk_test_${randomBytes(24).toString("base64url")}`;
  const ledger: LedgerEntry[] = [];
  // Idempotency-Key -> the request it was first used with and the refund it produced.
  const byKey = new Map<string, { params: string; entry: LedgerEntry }>();
  const faults: ("hang" | number)[] = [];

  function authorized(req: IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? "");
    const expected = Buffer.from(`Bearer ${apiKey}`);
    // Constant-time comparison: response timing must not reveal how much of a key matched.
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? "/", "http://payments.invalid");
    if (pathname !== "/v1/refunds") return send(res, 404, error("not_found", "No such route."));
    if (!authorized(req)) {
      res.setHeader("www-authenticate", 'Bearer realm="payments"');
      return send(res, 401, error("unauthorized", "Missing or invalid API key."));
    }
    if (req.method === "GET") return send(res, 200, { data: ledger });
    if (req.method !== "POST")
      return send(res, 405, error("method_not_allowed", "Use GET or POST."));

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

  return {
    url: `http://${host}:${port}`,
    apiKey,
    ledger: () => ledger.map((e) => ({ ...e })),
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
