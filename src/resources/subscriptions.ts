// Resource subscriptions of one server: which serving units asked for
// `notifications/resources/updated` about which URIs, and delivery of those notifications.
import type { Server } from "@modelcontextprotocol/server";
import type { Logger } from "../log/logger.js";

/** URIs one serving unit may be subscribed to at a time (a client cannot grow it unbounded). */
export const MAX_SUBSCRIPTIONS_PER_UNIT = 1000;

/** The subscriptions of one serving unit (one SDK `Server` instance). */
export interface UnitSubscriptions {
  /** False when the unit already holds `MAX_SUBSCRIPTIONS_PER_UNIT` other URIs. */
  add(uri: string): boolean;
  delete(uri: string): void;
  has(uri: string): boolean;
}

export interface UnitOptions {
  /**
   * Whether the unit outlives its request: a stdio connection or a stateful HTTP session.
   * A stateless HTTP unit serves one request: its client has no channel on which an
   * update could reach it later, so its subscriptions are acknowledged and then gone.
   */
  longLived: boolean;
  /**
   * `modern` (2026-07-28) clients subscribe with `subscriptions/listen`, which the SDK's
   * serving entry filters itself: every update is handed to such a unit, and the entry
   * delivers it only on listen streams that asked for that URI.
   */
  era: "legacy" | "modern";
}

interface Unit {
  readonly server: Server;
  readonly era: "legacy" | "modern";
  readonly uris: Set<string>;
}

export interface SubscriptionHub {
  /** The subscription set of a new serving unit; long-lived units are tracked until closed. */
  open(server: Server, options: UnitOptions): UnitSubscriptions;
  /**
   * Sends `notifications/resources/updated` for `uri` to every connected unit subscribed
   * to it. Resolves with the number of units it was sent to; never rejects (a unit whose
   * connection just closed is skipped and the failure logged at debug level).
   */
  notify(uri: string): Promise<number>;
}

export function createSubscriptionHub(log: Logger): SubscriptionHub {
  const live = new Set<Unit>();
  return {
    open(server, options) {
      const unit: Unit = { server, era: options.era, uris: new Set() };
      if (options.longLived) {
        live.add(unit);
        const previous = server.onclose;
        server.onclose = () => {
          live.delete(unit);
          unit.uris.clear();
          previous?.();
        };
      }
      return {
        add(uri) {
          if (unit.uris.has(uri)) return true;
          if (unit.uris.size >= MAX_SUBSCRIPTIONS_PER_UNIT) return false;
          unit.uris.add(uri);
          return true;
        },
        delete: (uri) => void unit.uris.delete(uri),
        has: (uri) => unit.uris.has(uri),
      };
    },
    async notify(uri) {
      const targets = [...live].filter((unit) => unit.era === "modern" || unit.uris.has(uri));
      const sent = await Promise.all(
        targets.map((unit) =>
          unit.server.sendResourceUpdated({ uri }).then(
            () => true,
            (error: unknown) => {
              log.debug({ uri, reason: (error as Error).message }, "resource update not sent");
              return false;
            },
          ),
        ),
      );
      return sent.filter(Boolean).length;
    },
  };
}
