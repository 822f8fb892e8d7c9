// The outbound call to the payments provider, and the one place where its failures
// become typed tool errors (error contract: 5xx/connection -> unavailable, 429 ->
// rate_limited, other 4xx -> conflict, abort -> timeout).
import { conflict, rateLimited, timeout, unavailable, type ToolContext } from "../../src/index.js";

/** What the tools need to reach the provider: nothing global, handed in by the server setup. */
export interface PaymentsConfig {
  /** Base URL of the provider, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** A key that can create refunds, and only the tools that need it receive it. */
  apiKey: string;
}

export interface RefundRequest {
  order_id: string;
  amount_cents: number;
  reason: string;
}

export interface ProviderRefund {
  id: string;
  status: string;
  amount_cents: number;
}

export async function createProviderRefund(
  config: PaymentsConfig,
  refund: RefundRequest,
  ctx: Pick<ToolContext, "signal" | "idempotencyKey" | "backendCall">,
): Promise<ProviderRefund> {
  const { signal, idempotencyKey } = ctx;
  let response: Response;
  try {
    // The call's signal bounds this request: at the tool's deadline (or a client
    // cancel) the request is aborted, not left running behind the caller's back.
    // backendCall traces it (trace headers) and lists it in the call's audit event.
    response = await ctx.backendCall("payments", (init) =>
      fetch(new URL("/v1/refunds", config.url), {
        method: "POST",
        signal: init.signal,
        headers: {
          ...init.headers,
          authorization: `Bearer ${config.apiKey}`,
          "content-type": "application/json",
          accept: "application/json",
          // toolgate's derived key: if a crash makes toolgate run this operation again, the
          // provider recognises it and refunds once (the one gap toolgate cannot close alone).
          ...(idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey }),
        },
        body: JSON.stringify(refund),
      }),
    );
  } catch (error) {
    if (signal.aborted) {
      // Usually the pipeline has already answered `timeout`; this covers direct callers.
      throw timeout(
        "The payments provider did not answer in time. The refund may or may not have gone through: check the order with get_order before retrying.",
      );
    }
    throw unavailable(
      "The payments provider cannot be reached right now, so no refund was recorded. Retry in a minute.",
      undefined,
      error,
    );
  }

  const body = await readJson(response);
  if (response.status >= 500) {
    throw unavailable(
      `The payments provider is failing (HTTP ${response.status}), so no refund was recorded. Retry in a minute.`,
      retryAfterMs(response),
    );
  }
  if (response.status === 429) {
    throw rateLimited(
      "The payments provider is rate limiting refunds. Wait and retry.",
      retryAfterMs(response),
    );
  }
  if (response.status === 401 || response.status === 403) {
    // Our own key is wrong: a server misconfiguration the model cannot fix. A plain Error
    // becomes `internal` with an incident id; the key and the provider's answer stay in the log.
    throw new Error(`payments provider rejected the API key (HTTP ${response.status})`);
  }
  if (response.status >= 400) {
    const code = providerCode(body);
    throw conflict(
      `The payments provider declined the refund (HTTP ${response.status}${code ? `, ${code}` : ""}). Check the order with get_order; do not retry the same refund unchanged.`,
      { providerStatus: response.status, ...(code ? { providerCode: code } : {}) },
    );
  }
  if (!isProviderRefund(body)) {
    throw new Error(`payments provider returned an unexpected body (HTTP ${response.status})`);
  }
  return body;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function isProviderRefund(value: unknown): value is ProviderRefund {
  const v = value as Partial<ProviderRefund> | null | undefined;
  return (
    typeof v?.id === "string" &&
    v.status === "succeeded" &&
    typeof v.amount_cents === "number" &&
    Number.isSafeInteger(v.amount_cents)
  );
}

/** The provider's short error code, if it looks like one; free text stays out of model messages. */
function providerCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === "string" && /^[a-z][a-z0-9_]{0,39}$/.test(code) ? code : undefined;
}

/** Retry-After as milliseconds (seconds or an HTTP date), when the provider sends one. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
