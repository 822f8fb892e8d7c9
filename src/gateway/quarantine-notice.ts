// Why a gateway tool is quarantined, in the words a refused call carries to the model.

/**
 * "new"/"changed": its contract differs from the lock file (an operator approves it);
 * "policy": the config has a policy entry for a tool its upstream no longer offers
 * (renamed or removed), so the upstream's tools without an entry of their own are held
 * until the config or the upstream is fixed: a renamed tool must not fall back to the
 * laxer defaults (tool-policies.ts).
 */
export type QuarantineReason = "changed" | "new" | "policy";

const NOTICES: Readonly<Record<QuarantineReason, string>> = {
  new:
    "its upstream started offering it after the tool list was approved, so the gateway " +
    "will not forward calls to it until an operator reviews and approves the change",
  changed:
    "its upstream changed the tool's description or schema since it was approved, so the " +
    "gateway will not forward calls to it until an operator reviews and approves the change",
  policy:
    "the gateway's config has a policy for a tool its upstream no longer offers, so the " +
    "upstream's tools without a policy of their own are held until an operator fixes the config or the upstream",
};

export function quarantineNotice(reason: QuarantineReason): string {
  return NOTICES[reason];
}
