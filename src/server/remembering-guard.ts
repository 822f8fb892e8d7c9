// The Host and Origin guards of the HTTP server (DNS-rebinding protection), made cheap for
// the requests that repeat: see `remembering`.
import type { IncomingMessage, ServerResponse } from "node:http";

export type RequestGuard = (req: IncomingMessage, res: ServerResponse) => boolean;
/** Distinct accepted values a guard remembers; past it, it starts over (attackers pick values). */
const REMEMBERED_VALUES = 64;

/**
 * `guard`, remembering the values of the one header it checks that it accepted: the check
 * is a pure function of that value, and clients send the same Host on every request. The
 * SDK's Host check parses a URL per request (~2 µs, an on-CPU profile of the gateway).
 */
export function remembering(
  guard: RequestGuard,
  valueOf: (req: IncomingMessage) => string | undefined,
): RequestGuard {
  const accepted = new Set<string>();
  return (req, res) => {
    const value = valueOf(req);
    if (value !== undefined && accepted.has(value)) return true;
    if (!guard(req, res)) return false;
    if (value !== undefined) {
      if (accepted.size >= REMEMBERED_VALUES) accepted.clear();
      accepted.add(value);
    }
    return true;
  };
}
