// The demo's system of record: orders and the refunds issued against them, in SQLite.
// Money is integer cents everywhere (no floats), so sums and comparisons are exact.
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { checkBetterSqliteVersion } from "../../src/stores/better-sqlite-version.js";

export const ORDER_STATUSES = ["paid", "shipped", "refunded", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface Order {
  id: string;
  customer: string;
  status: OrderStatus;
  currency: string;
  total_cents: number;
  refunded_cents: number;
  created_at: string;
}

export interface NewRefund {
  id: string;
  order_id: string;
  amount_cents: number;
  reason: string;
  payment_ref: string;
}

export interface OrderFilter {
  customer?: string | undefined;
  status?: OrderStatus | undefined;
  limit: number;
}

export interface RefundsDb {
  /** Absolute file path, or ":memory:". */
  readonly path: string;
  getOrder(id: string): Order | undefined;
  listOrders(filter: OrderFilter): Order[];
  /** Records a refund and raises the order's refunded total in one transaction. */
  recordRefund(refund: NewRefund): Order;
  countRefunds(orderId?: string): number;
  close(): void;
}

export const DEFAULT_DB_PATH = path.join(".toolgate", "refunds.sqlite");

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY,
  customer TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'refunded', 'cancelled')),
  currency TEXT NOT NULL,
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer, created_at);
CREATE TABLE IF NOT EXISTS refunds (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders (id),
  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  reason TEXT NOT NULL,
  payment_ref TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_order ON refunds (order_id);
`;

// Fixed sample data, so the README's example calls give the same answers on every machine.
// [number, customer, status, currency, total_cents, refunded_cents, created_at]
type SeedRow = [number, string, OrderStatus, string, number, number, string];
const SEED: readonly SeedRow[] = [
  [1, "acme", "paid", "USD", 12_999, 0, "2024-01-05T09:12:00.000Z"],
  [2, "acme", "shipped", "USD", 4_550, 0, "2024-01-18T14:30:00.000Z"],
  [3, "acme", "refunded", "USD", 2_000, 2_000, "2024-02-02T11:00:00.000Z"],
  [4, "acme", "cancelled", "USD", 8_900, 0, "2024-02-20T16:45:00.000Z"],
  [5, "globex", "paid", "EUR", 25_000, 0, "2024-03-01T08:05:00.000Z"],
  [6, "globex", "shipped", "EUR", 9_999, 2_500, "2024-03-14T10:20:00.000Z"],
  [7, "globex", "shipped", "EUR", 1_250, 0, "2024-04-09T13:55:00.000Z"],
  [8, "globex", "cancelled", "EUR", 3_300, 0, "2024-04-22T17:10:00.000Z"],
  [9, "initech", "paid", "GBP", 74_900, 0, "2024-05-06T07:40:00.000Z"],
  [10, "initech", "refunded", "GBP", 15_000, 15_000, "2024-05-30T12:00:00.000Z"],
  [11, "initech", "shipped", "GBP", 5_600, 0, "2024-06-11T15:25:00.000Z"],
  [42, "initech", "paid", "GBP", 19_900, 0, "2024-07-01T09:00:00.000Z"],
];

function orderId(n: number): string {
  return `INV-2024-${String(n).padStart(5, "0")}`;
}

export interface OpenOptions {
  /** Path of the compiled addon, for bundlers and tests (better-sqlite3's `nativeBinding`). */
  nativeBinding?: string;
}

/** Opens (and creates and seeds if needed) the orders database at `file`. */
export function openRefundsDb(
  file: string = DEFAULT_DB_PATH,
  options: OpenOptions = {},
): RefundsDb {
  const memory = file === ":memory:";
  const fullPath = memory ? file : path.resolve(file);
  if (!memory) mkdirSync(path.dirname(fullPath), { recursive: true });
  const db = openNative(fullPath, options);
  // WAL: readers (get/list) never wait for a writer (a refund), and a crash mid-write
  // cannot corrupt the file. Foreign keys are off by default in SQLite.
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA);
  seedIfEmpty(db);

  const getOrder = db.prepare<[string], Order>("SELECT * FROM orders WHERE id = ?");
  // Filters are bound parameters, never string-built SQL.
  const listOrders = db.prepare<
    [Record<"customer" | "status", string | null> & { limit: number }],
    Order
  >(
    `SELECT * FROM orders
     WHERE (@customer IS NULL OR customer = @customer) AND (@status IS NULL OR status = @status)
     ORDER BY created_at DESC, id DESC LIMIT @limit`,
  );
  const addRefund = db.prepare<[NewRefund & { created_at: string }]>(
    `INSERT INTO refunds (id, order_id, amount_cents, reason, payment_ref, created_at)
     VALUES (@id, @order_id, @amount_cents, @reason, @payment_ref, @created_at)`,
  );
  // The status flips to 'refunded' exactly when the refunded total reaches the order total.
  const raiseTotal = db.prepare<[{ amount: number; id: string }]>(
    `UPDATE orders SET refunded_cents = refunded_cents + @amount,
       status = CASE WHEN refunded_cents + @amount >= total_cents THEN 'refunded' ELSE status END
     WHERE id = @id`,
  );
  const recordRefund = db.transaction((refund: NewRefund): Order => {
    addRefund.run({ ...refund, created_at: new Date().toISOString() });
    raiseTotal.run({ amount: refund.amount_cents, id: refund.order_id });
    const order = getOrder.get(refund.order_id);
    if (!order) throw new Error(`order ${refund.order_id} vanished while recording a refund`);
    return order;
  });

  return {
    path: fullPath,
    getOrder: (id) => getOrder.get(id),
    listOrders: ({ customer, status, limit }) =>
      listOrders.all({ customer: customer ?? null, status: status ?? null, limit }),
    recordRefund: (refund) => recordRefund.immediate(refund),
    countRefunds(id) {
      const sql = "SELECT COUNT(*) AS n FROM refunds WHERE (@id IS NULL OR order_id = @id)";
      return (
        db.prepare<[{ id: string | null }], { n: number }>(sql).get({ id: id ?? null })?.n ?? 0
      );
    },
    close: () => db.close(),
  };
}

/** Opens SQLite, turning "the addon was never compiled" into an error that names the fix. */
function openNative(file: string, options: OpenOptions): Database.Database {
  // A better-sqlite3 major that crashes on this Node (12 on Node 24.19+, 13 on Node 20) is
  // refused here, with the install command, instead of aborting the demo mid-run.
  checkBetterSqliteVersion();
  try {
    return options.nativeBinding === undefined
      ? new Database(file)
      : new Database(file, { nativeBinding: options.nativeBinding });
  } catch (error) {
    if (isMissingAddon(error)) {
      throw new Error(
        "better-sqlite3's native module is not built; run `npm rebuild better-sqlite3` (needs python3, make, g++)",
        { cause: error },
      );
    }
    throw error;
  }
}

function isMissingAddon(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === "ERR_DLOPEN_FAILED") return true;
  return typeof message === "string" && /bindings file|NODE_MODULE_VERSION|\.node\b/.test(message);
}

function seedIfEmpty(db: Database.Database): void {
  const count = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM orders").get()?.n ?? 0;
  if (count > 0) return;
  const insertOrder = db.prepare(
    "INSERT INTO orders (id, customer, status, currency, total_cents, refunded_cents, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const insertRefund = db.prepare(
    "INSERT INTO refunds (id, order_id, amount_cents, reason, payment_ref, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  db.transaction(() => {
    for (const [n, customer, status, currency, total, refunded, createdAt] of SEED) {
      insertOrder.run(orderId(n), customer, status, currency, total, refunded, createdAt);
      // Seeded refunded totals are backed by refund rows, as real ones would be.
      if (refunded > 0) {
        const ref = `seed_${String(n).padStart(5, "0")}`;
        insertRefund.run(`rf_${ref}`, orderId(n), refunded, "Seed data", `re_${ref}`, createdAt);
      }
    }
  })();
}
