import type { IncomingHttpHeaders } from "node:http";

/**
 * A node:http request's headers as a web `Headers` (what `ctx.headers` is), filled only
 * when something needs more than `get` or `has`.
 *
 * Why: the pipeline reads one or two headers of a call (`traceparent`, `Idempotency-Key`),
 * but copying all of them into a `Headers` validates and sorts every name and value: about
 * 3.5 µs per request in a loop, and a measured 20 µs of a fast-path call's ~90 µs of CPU
 * went to building its context, most of it this copy. `get` and `has` read Node's parsed
 * headers directly (lower-case names; Node already joined repeated headers, exactly what
 * the copy would have held). Every other member fills the real `Headers` first and then
 * behaves as `Headers` does, so iteration, `set`, `delete` and `new Headers(this)` see
 * the same entries an eager copy would.
 */
// RFC 9110 token: a name Headers accepts. Anything else goes to Headers, which refuses it.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const base = Headers.prototype;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any `this`: the prototype is ours
type Method = (this: any, ...args: never[]) => unknown;

export class RequestHeaders extends Headers {
  #raw: IncomingHttpHeaders | undefined;

  constructor(raw: IncomingHttpHeaders) {
    super();
    this.#raw = raw;
  }

  /** Copies Node's headers into the `Headers` itself, once. */
  static #fill(self: RequestHeaders): void {
    const raw = self.#raw;
    if (raw === undefined) return;
    self.#raw = undefined;
    for (const name of Object.keys(raw)) {
      const value = raw[name];
      if (typeof value === "string") base.append.call(self, name, value);
      else if (Array.isArray(value)) for (const item of value) base.append.call(self, name, item);
    }
  }

  // The overrides are put on the prototype here, not written as methods: the DOM typings
  // declare Headers' members as properties, which a subclass may not redefine as methods.
  static {
    const own = (name: PropertyKey, value: Method) =>
      Object.defineProperty(RequestHeaders.prototype, name, {
        value,
        writable: true,
        configurable: true,
      });
    own("get", function get(this: RequestHeaders, name: string): string | null {
      const raw = this.#raw;
      if (raw === undefined || !TOKEN.test(name)) return base.get.call(this, name);
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      // `set-cookie` is the one header Node keeps as a list; Headers joins it with ", ".
      return Array.isArray(value) ? value.join(", ") : value;
    });
    own("has", function has(this: RequestHeaders, name: string): boolean {
      const raw = this.#raw;
      if (raw === undefined || !TOKEN.test(name)) return base.has.call(this, name);
      return raw[name.toLowerCase()] !== undefined;
    });
    // Everything else: the real Headers, filled first.
    const filled = [
      "append",
      "set",
      "delete",
      "getSetCookie",
      "forEach",
      "keys",
      "values",
      "entries",
      Symbol.iterator,
    ] as const;
    for (const name of filled) {
      const original = base[name] as unknown as (...args: unknown[]) => unknown;
      own(name, function (this: RequestHeaders, ...args: unknown[]) {
        RequestHeaders.#fill(this);
        return original.apply(this, args);
      });
    }
  }
}
