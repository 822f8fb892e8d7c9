// The three tools of the demo. Each one is a contract with the model: a versioned name,
// a description written for it, a schema the server re-validates, and typed errors
// whose messages say what to do next.
import { randomUUID } from "node:crypto";
import * as z from "zod";
import {
  conflict,
  defineTool,
  invalidInput,
  notFound,
  type ToolDefinition,
} from "../../src/index.js";
import { ORDER_STATUSES, type Order, type RefundsDb } from "./db.js";
import { createKeyedLock } from "./keyed-lock.js";
import { createProviderRefund } from "./payments-client.js";

export interface RefundToolsOptions {
  db: RefundsDb;
  /** Deadline of issue_refund. Default 15 000 ms; tests shorten it. */
  refundTimeoutMs?: number;
}

const orderId = z
  .string()
  .regex(/^INV-\d{4}-\d{5}$/)
  .describe("The order's invoice ID, format INV-YYYY-NNNNN, e.g. INV-2024-00042.");

const order = z.object({
  id: z.string(),
  customer: z.string(),
  status: z.enum(ORDER_STATUSES),
  currency: z.string().describe("ISO 4217 code; all amounts are in its minor unit (cents)."),
  total_cents: z.number().int(),
  refunded_cents: z.number().int(),
  refundable_cents: z.number().int().describe("The most issue_refund can still refund."),
  created_at: z.string(),
});

/** An order as the model sees it: with what is still refundable spelled out. */
function present(o: Order): z.input<typeof order> {
  return { ...o, refundable_cents: refundable(o) };
}

function refundable(o: Order): number {
  return o.status === "cancelled" ? 0 : Math.max(0, o.total_cents - o.refunded_cents);
}

function noSuchOrder(id: string) {
  return notFound(`No order matches ID '${id}'. Confirm the ID format (INV-YYYY-NNNNN).`);
}

export function createRefundTools(options: RefundToolsOptions): ToolDefinition[] {
  const { db } = options;
  const withOrderLock = createKeyedLock();

  const getOrder = defineTool({
    name: "get_order",
    version: "1.0.0",
    title: "Get order",
    description:
      "Look up one order by its invoice ID: customer, status, currency, total, amount already refunded and amount still refundable (all amounts in cents). Use it when the user asks about an order, and before issue_refund to see what can be refunded. If you do not know the ID, find it with list_orders.",
    input: z.object({ order_id: orderId }),
    output: order,
    scopes: ["orders:read"],
    sideEffect: "read",
    timeoutMs: 5_000,
    annotations: { openWorldHint: false },
    handler: ({ order_id }) => {
      const found = db.getOrder(order_id);
      if (!found) throw noSuchOrder(order_id);
      return present(found);
    },
  });

  const listOrders = defineTool({
    name: "list_orders",
    version: "1.0.0",
    title: "List orders",
    description:
      "List orders, newest first, optionally only one customer's and/or only those in one status. Use it to find an order's ID when the user describes an order instead of naming it. Amounts are in cents.",
    input: z.object({
      customer: z
        .string()
        .min(1)
        .max(100)
        .optional()
        .describe("Only this customer's orders, by customer handle, e.g. 'acme'."),
      status: z.enum(ORDER_STATUSES).optional().describe("Only orders in this status."),
      limit: z
        .number()
        .int()
        .min(1)
        .max(100)
        .default(20)
        .describe("How many orders to return at most, 1-100 (default 20)."),
    }),
    output: z.object({ orders: z.array(order) }),
    scopes: ["orders:read"],
    sideEffect: "read",
    timeoutMs: 5_000,
    annotations: { openWorldHint: false },
    handler: ({ customer, status, limit }) => ({
      orders: db.listOrders({ customer, status, limit }).map(present),
    }),
  });

  const issueRefund = defineTool({
    name: "issue_refund",
    // 1.0.1: idempotency_key is published in `required` (calls without a key were already refused).
    version: "1.0.1",
    title: "Issue refund",
    description:
      "Refund part or all of an order to the customer's original payment method through the payments provider. This moves real money and cannot be undone: call it only when the user asked for this refund, once per refund. amount_cents must not exceed the order's refundable_cents (see get_order). Cancelled or fully refunded orders cannot be refunded. Pass an idempotency_key: a new random value for each new refund, and the SAME value when you retry after a timeout or error, so the refund happens at most once.",
    input: z.object({
      order_id: orderId,
      amount_cents: z
        .number()
        .int()
        .positive()
        .describe("Amount to refund in the order currency's minor unit, e.g. 1999 for 19.99."),
      reason: z
        .string()
        .min(1)
        .max(500)
        .describe("Why the refund is issued, in a sentence; kept with the refund record."),
    }),
    output: z.object({
      refund_id: z.string(),
      order_id: z.string(),
      amount_cents: z.number().int(),
      refunded_total_cents: z.number().int().describe("All refunds of the order so far."),
      status: z.enum(ORDER_STATUSES).describe("The order's status after this refund."),
    }),
    scopes: ["refunds:write"],
    sideEffect: "write",
    timeoutMs: options.refundTimeoutMs ?? 15_000,
    annotations: { openWorldHint: true },
    // The server's `payments` backend (backends.ts), with a token for refunds:write only:
    // this tool creates refunds and needs nothing else there (least privilege).
    backends: [{ name: "payments", scope: ["refunds:write"] }],
    // One refund per order at a time (see keyed-lock.ts), so checks and payment agree.
    handler: (args, ctx) =>
      withOrderLock(args.order_id, ctx.signal, async () => {
        const current = db.getOrder(args.order_id);
        if (!current) throw noSuchOrder(args.order_id);
        checkRefundable(current, args.amount_cents);

        const receipt = await createProviderRefund(args, ctx);
        // The money has moved: record it even if the deadline passed meanwhile, so the
        // database never disagrees with the provider.
        const refundId = `rf_${randomUUID()}`;
        const updated = db.recordRefund({
          id: refundId,
          order_id: args.order_id,
          amount_cents: receipt.amount_cents,
          reason: args.reason,
          payment_ref: receipt.id,
        });
        ctx.log.info({ refundId, paymentRef: receipt.id }, "refund issued");
        return {
          refund_id: refundId,
          order_id: updated.id,
          amount_cents: receipt.amount_cents,
          refunded_total_cents: updated.refunded_cents,
          status: updated.status,
        };
      }),
  });

  return [getOrder, listOrders, issueRefund];
}

/** The business rules a schema cannot express, each failing with what is possible instead. */
function checkRefundable(o: Order, amount: number): void {
  if (o.status === "cancelled") {
    throw conflict(
      `Order ${o.id} is cancelled, so it cannot be refunded. A cancelled order is not charged, so there is nothing to refund; tell the user so.`,
      { status: o.status },
    );
  }
  const max = refundable(o);
  if (max === 0) {
    throw conflict(
      `Order ${o.id} is already fully refunded (${money(o.refunded_cents, o.currency)}); no further refund is possible.`,
      { status: o.status, refunded_cents: o.refunded_cents },
    );
  }
  if (amount > max) {
    const expected = `an integer from 1 to ${max}`;
    throw invalidInput(
      `amount_cents ${amount} exceeds what order ${o.id} can still refund: at most ${max} (${money(max, o.currency)}).`,
      [{ path: "/amount_cents", message: `exceeds the refundable remainder of ${max}`, expected }],
    );
  }
}

function money(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}
