// The outbound call to the payments provider, and the one place where its answers become
// typed tool errors. The backend layer (`ctx.backend("payments")`, see backends.ts)
// already maps what any HTTP backend does: a timeout or the call's deadline -> `timeout`,
// connection errors and 5xx -> `unavailable` (after retries), 429 -> `rate_limited`. What
// is left here is the provider's business: 401/403 -> `internal`, other 4xx -> `conflict`.
import { conflict, type ToolContext } from "../../src/index.js";

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
  refund: RefundRequest,
  ctx: Pick<ToolContext, "backend">,
): Promise<ProviderRefund> {
  // The layer bounds this request by the backend's timeout and the call's deadline (at
  // the deadline or a client cancel it is aborted, not left running behind the caller's
  // back), traces it and lists it in the call's audit event, and adds this tool's scoped
  // bearer token. It also sends toolgate's derived key as Idempotency-Key: if a crash
  // makes toolgate run this operation again, or the layer retries it after a 5xx, the
  // provider recognises it and refunds once (the one gap toolgate cannot close alone).
  const response = await ctx.backend("payments").fetch("v1/refunds", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(refund),
  });

  const body = await readJson(response);
  if (response.status === 401 || response.status === 403) {
    // Our own credential is wrong (a 401 was already retried once with a fresh token): a
    // server misconfiguration the model cannot fix. A plain Error becomes `internal` with
    // an incident id; the provider's answer stays in the log.
    throw new Error(`payments provider rejected our credential (HTTP ${response.status})`);
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

/** The body as JSON, or undefined when it is not JSON. */
async function readJson(response: { json(): Promise<unknown> }): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    // Only "not JSON" is an answer; an aborted read (deadline, backend timeout) must stay
    // a `timeout`, not become "unexpected body".
    if (error instanceof SyntaxError) return undefined;
    throw error;
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
