import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as z from "zod";
import {
  createRedactor,
  keyLooksSensitive,
  REDACTED,
  REDACTION_LIMITS,
  TRUNCATED,
} from "../../src/audit/redact.js";
import { defineTool } from "../../src/tool/define-tool.js";
import { deepFreeze } from "../../src/util/deep-freeze.js";
import { toJsonSchema, type JsonSchema } from "../../src/validation/json-schema.js";

const redact = createRedactor();
const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

describe("redact: schema-marked values", () => {
  it("masks sensitive properties in nested objects and keeps the rest", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        user: {
          type: "object",
          properties: { name: { type: "string" }, ssn: { type: "string", sensitive: true } },
        },
        pin: { type: "string", sensitive: true },
        note: { type: "string" },
      },
    };
    const out = redact(
      { user: { name: "Ann", ssn: "078-05-1120" }, pin: "1234", note: "hi" },
      schema,
    );
    assert.deepEqual(out, { user: { name: "Ann", ssn: REDACTED }, pin: REDACTED, note: "hi" });
  });

  it("masks a sensitive object or array as a whole, whatever its type", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        bank: { type: "object", sensitive: true },
        codes: { type: "array", sensitive: true },
        n: { type: "integer", sensitive: true },
        flag: { type: "boolean", sensitive: true },
      },
    };
    const out = redact({ bank: { iban: "DE89" }, codes: [1, 2], n: 7, flag: false }, schema);
    assert.deepEqual(out, { bank: REDACTED, codes: REDACTED, n: REDACTED, flag: REDACTED });
  });

  it("masks every array item under `items`, and by position under `prefixItems`", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        keys: { type: "array", items: { type: "string", sensitive: true } },
        pairs: {
          type: "array",
          items: { type: "array", prefixItems: [{ type: "string" }, { sensitive: true }] },
        },
        tail: {
          type: "array",
          prefixItems: [{ type: "string" }],
          items: { type: "string", sensitive: true },
        },
        legacy: {
          type: "array",
          items: [{ type: "string" }],
          additionalItems: { sensitive: true },
        },
      },
    };
    const out = redact(
      {
        keys: ["a", "b"],
        pairs: [
          ["user", "pw1"],
          ["admin", "pw2"],
        ],
        tail: ["head", "s1", "s2"],
        legacy: ["head", "s3"],
      },
      schema,
    );
    assert.deepEqual(out, {
      keys: [REDACTED, REDACTED],
      pairs: [
        ["user", REDACTED],
        ["admin", REDACTED],
      ],
      tail: ["head", REDACTED, REDACTED],
      legacy: ["head", REDACTED],
    });
  });

  it("follows local $ref into $defs and definitions, with JSON-pointer escapes", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        a: { $ref: "#/$defs/Secret" },
        b: { $ref: "#/definitions/with~1slash~0tilde" },
        c: { $ref: "#/$defs/Card" },
        d: { $ref: "#/$defs/with%20space" },
      },
      $defs: {
        Secret: { type: "string", sensitive: true },
        Card: { type: "object", properties: { number: { $ref: "#/$defs/Secret" }, exp: {} } },
        "with space": { sensitive: true },
      },
      definitions: { "with/slash~tilde": { sensitive: true } },
    };
    const out = redact({ a: "x", b: "y", c: { number: "z", exp: "12/30" }, d: "w" }, schema);
    assert.deepEqual(out, {
      a: REDACTED,
      b: REDACTED,
      c: { number: REDACTED, exp: "12/30" },
      d: REDACTED,
    });
  });

  it("follows recursive references ('#' and $defs) without looping", () => {
    const tree: JsonSchema = {
      type: "object",
      properties: {
        secret: { sensitive: true },
        children: { type: "array", items: { $ref: "#" } },
      },
    };
    const value = { secret: 1, children: [{ secret: 2, children: [{ secret: 3, children: [] }] }] };
    assert.deepEqual(redact(value, tree), {
      secret: REDACTED,
      children: [{ secret: REDACTED, children: [{ secret: REDACTED, children: [] }] }],
    });
    // A reference cycle that never reaches a property: terminates and masks nothing.
    const cyclic: JsonSchema = {
      $ref: "#/$defs/A",
      $defs: { A: { allOf: [{ $ref: "#/$defs/B" }] }, B: { anyOf: [{ $ref: "#/$defs/A" }] } },
    };
    assert.deepEqual(redact({ x: 1 }, cyclic), { x: 1 });
    // Dangling and remote references are ignored.
    const dangling: JsonSchema = {
      properties: { a: { $ref: "#/$defs/missing" }, b: { $ref: "https://example.com/s.json" } },
    };
    assert.deepEqual(redact({ a: 1, b: 2 }, dangling), { a: 1, b: 2 });
  });

  it("applies every anyOf / oneOf / allOf / if-then-else branch", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        payment: {
          anyOf: [
            { type: "object", properties: { kind: { const: "card" }, pan: { sensitive: true } } },
            { type: "object", properties: { kind: { const: "bank" }, iban: { sensitive: true } } },
          ],
        },
        auth: { oneOf: [{ type: "string", sensitive: true }, { type: "null" }] },
        merged: {
          allOf: [
            { properties: { a: { type: "string" } } },
            { properties: { b: { sensitive: true } } },
          ],
        },
        cond: {
          if: { properties: { mode: { const: "x" } } },
          then: { properties: { otp: { sensitive: true } } },
          else: { properties: { recovery: { sensitive: true } } },
        },
      },
    };
    const out = redact(
      {
        payment: { kind: "bank", iban: "DE89370400440532013000" },
        auth: "hunter2",
        merged: { a: "keep", b: "mask" },
        cond: { mode: "y", otp: "123456", recovery: "abc" },
      },
      schema,
    );
    assert.deepEqual(out, {
      payment: { kind: "bank", iban: REDACTED },
      auth: REDACTED,
      merged: { a: "keep", b: REDACTED },
      cond: { mode: "y", otp: REDACTED, recovery: REDACTED },
    });
  });

  it("applies additionalProperties to unlisted keys and patternProperties to matching keys", () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        env: {
          type: "object",
          properties: { HOME: { type: "string" } },
          additionalProperties: { sensitive: true },
        },
        headers: {
          type: "object",
          patternProperties: { "^x-secret-": { sensitive: true }, "^x-": { type: "string" } },
        },
        rest: {
          type: "object",
          unevaluatedProperties: { sensitive: true },
          properties: { id: {} },
        },
      },
    };
    const out = redact(
      {
        env: { HOME: "/root", DB_URL: "postgres://u:p@h/db" },
        headers: { "x-secret-sauce": "ketchup", "x-trace": "abc" },
        rest: { id: 1, other: "masked" },
      },
      schema,
    );
    assert.deepEqual(out, {
      env: { HOME: "/root", DB_URL: REDACTED },
      headers: { "x-secret-sauce": REDACTED, "x-trace": "abc" },
      rest: { id: 1, other: REDACTED },
    });
  });

  it("masks the whole value when the root schema is sensitive", () => {
    assert.equal(redact({ a: 1 }, { type: "object", sensitive: true }), REDACTED);
  });

  it("keeps what it learned about a frozen schema, and re-reads a mutable one", () => {
    const frozen: JsonSchema = deepFreeze({
      type: "object",
      properties: { a: { sensitive: true }, b: {} },
    });
    for (let i = 0; i < 3; i++)
      assert.deepEqual(redact({ a: 1, b: 2 }, frozen), { a: REDACTED, b: 2 });
    const mutable: JsonSchema = { type: "object", properties: { a: {}, b: {} } };
    assert.deepEqual(redact({ a: 1, b: 2 }, mutable), { a: 1, b: 2 });
    (mutable["properties"] as Record<string, JsonSchema>)["b"] = { sensitive: true };
    assert.deepEqual(redact({ a: 1, b: 2 }, mutable), { a: 1, b: REDACTED });
  });
});

describe("redact: zod .meta({ sensitive: true })", () => {
  const input = z.object({
    orderId: z.string(),
    card: z.string().meta({ sensitive: true }),
    billing: z.object({ name: z.string(), cvc: z.string().meta({ sensitive: true }).optional() }),
    otps: z.array(z.string().meta({ sensitive: true })),
  });

  it("reaches the JSON Schema as `sensitive: true`, and Ajv accepts the keyword", () => {
    const json = toJsonSchema(input, "input", "test");
    const props = json["properties"] as Record<string, JsonSchema>;
    assert.equal(props["card"]!["sensitive"], true);
    assert.equal(props["orderId"]!["sensitive"], undefined);

    const tool = defineTool({
      name: "pay",
      version: "1.0.0",
      description: "Pays an order.",
      scopes: [],
      sideEffect: "write",
      idempotency: false,
      input,
      handler: () => "ok",
    });
    const published = tool.inputSchema["properties"] as Record<string, JsonSchema>;
    assert.equal(published["card"]!["sensitive"], true);

    const raw = {
      orderId: "ord_1",
      card: "not-a-card-but-secret",
      billing: { name: "Ann", cvc: "123" },
      otps: ["111111", "222222"],
    };
    const parsed = tool.parseInput(raw);
    assert.equal(parsed.ok, true, JSON.stringify(parsed));
    assert.equal(tool.parseInput({ ...raw, card: 42 }).ok, false); // still validated
    assert.deepEqual(redact(raw, tool.inputSchema), {
      orderId: "ord_1",
      card: REDACTED,
      billing: { name: "Ann", cvc: REDACTED },
      otps: [REDACTED, REDACTED],
    });
  });

  it("works through zod's $defs for recursive schemas", () => {
    const Node: z.ZodType = z.lazy(() =>
      z.object({ secret: z.string().meta({ sensitive: true }), child: Node.optional() }),
    );
    const json = toJsonSchema(z.object({ tree: Node }), "input", "test");
    const out = redact(
      { tree: { secret: "a", child: { secret: "b", child: { secret: "c" } } } },
      json,
    );
    assert.deepEqual(out, {
      tree: { secret: REDACTED, child: { secret: REDACTED, child: { secret: REDACTED } } },
    });
  });
});

describe("redact: sensitive keys", () => {
  const masked = [
    "authorization",
    "Proxy-Authorization",
    "token",
    "access_token",
    "refreshToken",
    "apiToken",
    "X-Auth-Token",
    "accesstoken",
    "secret",
    "client_secret",
    "CLIENT_SECRET",
    "password",
    "newPassword",
    "password_hash",
    "passwd",
    "pwd",
    "apiKey",
    "api_key",
    "API-KEY",
    "x-api-key",
    "apikey",
    "cookie",
    "Set-Cookie",
    "credentials",
    "credential",
    "privateKey",
    "private_key",
    "cvv",
    "CVC",
    "cardNumber",
    "card_number",
    "card-number",
    "pan",
  ];
  const kept = [
    "tokens_used",
    "max_tokens",
    "token_count",
    "username",
    "email",
    "secretary",
    "keyboard",
    "company",
    "orderId",
  ];

  for (const key of masked) {
    it(`masks '${key}'`, () => {
      assert.equal(keyLooksSensitive(key), true);
      assert.deepEqual(redact({ [key]: "s3cr3t", other: "x" }), { [key]: REDACTED, other: "x" });
    });
  }
  it(`keeps ${kept.join(", ")}`, () => {
    for (const key of kept) {
      assert.equal(keyLooksSensitive(key), false, key);
      assert.deepEqual(redact({ [key]: "v" }), { [key]: "v" });
    }
  });

  it("masks at any depth and whatever the value's type; keeps null and booleans", () => {
    const out = redact({
      a: [{ b: { password: { nested: "x" } } }],
      apiKey: 12345,
      token: null,
      cookie: true,
      credentials: ["u", "p"],
    });
    assert.deepEqual(out, {
      a: [{ b: { password: REDACTED } }],
      apiKey: REDACTED,
      token: null,
      cookie: true,
      credentials: REDACTED,
    });
  });

  it("adds keys from options: strings exactly (any case), regular expressions", () => {
    const custom = createRedactor({ keys: ["SSN", /^x-internal-/i, /iban/g] });
    const value = {
      ssn: "1",
      ssn_note: "2",
      "X-Internal-Id": "3",
      iban: "4",
      myIban: "5",
      other: "6",
    };
    const expected = {
      ssn: REDACTED,
      ssn_note: "2",
      "X-Internal-Id": REDACTED,
      iban: REDACTED,
      myIban: "5",
      other: "6",
    };
    // Twice: a `g` flag must not make the match depend on the previous call.
    assert.deepEqual(custom(value), expected);
    assert.deepEqual(custom(value), expected);
    assert.deepEqual(custom({ password: "x" }), { password: REDACTED }); // defaults stay
    assert.throws(() => createRedactor({ keys: [42 as unknown as string] }), TypeError);
  });
});

describe("redact: secret-looking strings", () => {
  it("masks card numbers that pass Luhn, with or without separators, anywhere in a string", () => {
    for (const card of [
      "4111111111111111",
      "4111 1111 1111 1111",
      "4111-1111-1111-1111",
      "5555555555554444",
      "378282246310005",
      "3782 822463 10005",
      "6011111111111117",
      "4222222222222",
    ]) {
      assert.equal(redact(card), REDACTED, card);
      assert.equal(redact(`card ${card}, exp 12/30`), `card ${REDACTED}, exp 12/30`, card);
    }
    assert.equal(redact(4111111111111111), REDACTED); // as a JSON number too
  });

  it("keeps digit strings that are not cards", () => {
    for (const text of [
      "4111111111111112", // Luhn fails
      "4111 1111 1111 1112",
      "1700000000000", // epoch ms (starts with 1)
      "12345678901234567890123", // longer than any card
      "2024-01-15 2024-02-20",
      "+44 20 7946 0958",
      "978-3-16-148410-0",
      "order 12345",
    ]) {
      assert.equal(redact(text), text, text);
    }
    assert.equal(redact(1700000000000), 1700000000000);
  });

  it("masks a card inside a longer run of digit groups", () => {
    assert.equal(redact("ref 1234 4111 1111 1111 1111"), `ref ${REDACTED}`);
  });

  it("masks JWTs, alone or inside a string", () => {
    assert.equal(redact(JWT), REDACTED);
    assert.equal(
      redact(`https://x.example/cb?id_token=${JWT}&state=1`),
      `https://x.example/cb?id_token=${REDACTED}&state=1`,
    );
    assert.equal(redact("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."), REDACTED); // alg none
    assert.equal(redact("eyJ is not a token"), "eyJ is not a token");
  });

  it("masks Bearer credentials", () => {
    assert.equal(redact("Bearer abc.def-ghi_jkl~+/=="), `Bearer ${REDACTED}`);
    assert.equal(
      redact("curl -H 'Authorization: bearer xyz123' https://x"),
      `curl -H 'Authorization: bearer ${REDACTED}' https://x`,
    );
    assert.equal(redact(`Bearer ${JWT}`), `Bearer ${REDACTED}`);
  });

  it("masks secrets in keys too", () => {
    assert.deepEqual(redact({ "4111111111111111": { limit: 100 } }), {
      [REDACTED]: { limit: 100 },
    });
  });
});

describe("redact: bounds", () => {
  const { maxStringLength, maxDepth, maxArrayItems, maxObjectKeys, maxNodes } = REDACTION_LIMITS;

  it("cuts long strings with a count of what was dropped", () => {
    const out = redact("a".repeat(5000)) as string;
    assert.equal(out, "a".repeat(maxStringLength) + "…[+3976 chars]");
    assert.equal(redact("a".repeat(maxStringLength)), "a".repeat(maxStringLength));
    const huge = redact("b".repeat(1_000_000)) as string;
    assert.equal(huge, "b".repeat(maxStringLength) + `…[+${1_000_000 - maxStringLength} chars]`);
  });

  it("masks a secret that straddles the cut, and never splits a surrogate pair", () => {
    const out = redact("x".repeat(maxStringLength - 6) + "4111111111111111") as string;
    assert.ok(!out.includes("4111"), out);
    const emoji = redact("x".repeat(maxStringLength - 1) + "😀😀") as string;
    assert.equal(emoji, "x".repeat(maxStringLength - 1) + "…[+4 chars]");
  });

  it("replaces containers nested too deep", () => {
    let value: unknown = { leaf: true };
    for (let i = 0; i < 100; i++) value = { next: value };
    let out = redact(value);
    let depth = 0;
    while (typeof out === "object" && out !== null) {
      out = (out as { next: unknown }).next;
      depth++;
    }
    assert.equal(depth, maxDepth);
    assert.equal(out, TRUNCATED);
    // Deep arrays as well; and the input is not touched.
    let list: unknown = [];
    for (let i = 0; i < 100; i++) list = [list];
    assert.ok(JSON.stringify(redact(list)).includes(TRUNCATED));
  });

  it("keeps the first items of a long array and counts the rest", () => {
    const out = redact(Array.from({ length: 250 }, (_, i) => i)) as unknown[];
    assert.equal(out.length, maxArrayItems + 1);
    assert.equal(out[maxArrayItems - 1], maxArrayItems - 1);
    assert.equal(out[maxArrayItems], "[+150 items]");
  });

  it("keeps the first keys of a wide object and counts the rest", () => {
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const out = redact(wide) as Record<string, unknown>;
    assert.equal(Object.keys(out).length, maxObjectKeys + 1);
    assert.equal(out[`k${maxObjectKeys - 1}`], maxObjectKeys - 1);
    assert.equal(out[`k${maxObjectKeys}`], undefined);
    assert.equal(out[TRUNCATED], "[+100 keys]");
  });

  it("stops after a total number of values (shared references cannot blow up)", () => {
    let shared: unknown = "leaf";
    for (let i = 0; i < 30; i++) shared = [shared, shared]; // 2^30 paths, 31 distinct objects
    const started = performance.now();
    const text = JSON.stringify(redact(shared));
    assert.ok(performance.now() - started < 2_000);
    assert.ok(text.includes(TRUNCATED));
    assert.ok((text.match(/"leaf"/g) ?? []).length < maxNodes);
  });
});

describe("redact: safety", () => {
  it("copies __proto__, constructor and prototype keys as own data, without pollution", () => {
    const input = JSON.parse(
      '{"__proto__":{"polluted":true,"password":"p"},"constructor":{"prototype":{"polluted":true}},"a":{"__proto__":{"x":1}}}',
    ) as Record<string, unknown>;
    const out = redact(input) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ["__proto__", "constructor", "a"]);
    assert.ok(Object.hasOwn(out, "__proto__"));
    assert.ok(Object.hasOwn(out["a"] as object, "__proto__"));
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.equal((out as { polluted?: unknown }).polluted, undefined);
    assert.equal(
      JSON.stringify(out),
      '{"__proto__":{"polluted":true,"password":"[REDACTED]"},"constructor":{"prototype":{"polluted":true}},"a":{"__proto__":{"x":1}}}',
    );
    // Schema lookups see own properties only: no Object.prototype members as subschemas.
    const schema = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"sensitive":true}}}',
    ) as JsonSchema;
    assert.deepEqual(
      JSON.stringify(redact(input, schema)).startsWith('{"__proto__":"[REDACTED]"'),
      true,
    );
    assert.deepEqual(
      redact(
        { constructor: "c", toString: "t" },
        { type: "object", properties: { x: { sensitive: true } } },
      ),
      {
        constructor: "c",
        toString: "t",
      },
    );
  });

  it("never modifies its input", () => {
    const input = {
      password: "p",
      list: [{ token: "t", card: "4111111111111111" }],
      long: "z".repeat(3000),
      wide: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${i}`, i])),
    };
    const before = structuredClone(input);
    deepFreeze(input); // any write would throw in strict mode
    redact(input, { type: "object", properties: { long: { sensitive: true } } });
    assert.deepEqual(input, before);
  });

  it("survives cycles", () => {
    const a: Record<string, unknown> = { name: "a" };
    a["self"] = a;
    a["list"] = [a, { back: a }];
    assert.deepEqual(redact(a), {
      name: "a",
      self: "[Circular]",
      list: ["[Circular]", { back: "[Circular]" }],
    });
    // The same object twice, side by side, is not a cycle.
    const shared = { v: 1 };
    assert.deepEqual(redact({ x: shared, y: shared }), { x: { v: 1 }, y: { v: 1 } });
  });

  it("gives non-JSON values a readable, JSON-safe placeholder", () => {
    function namedFn() {
      return 1;
    }
    const throwing = {
      get boom(): never {
        throw new Error("no");
      },
    };
    const out = redact({
      u: undefined,
      f: namedFn,
      anon: (
        () => () =>
          1
      )(),
      big: 12n,
      bigCard: 4111111111111111n,
      sym: Symbol("s"),
      date: new Date(0),
      bad: new Date(NaN),
      map: new Map([[1, 2]]),
      bytes: new Uint8Array(3),
      err: new TypeError("bad input"),
      getter: throwing,
      arr: [undefined],
    });
    assert.deepEqual(out, {
      u: "[undefined]",
      f: "[Function: namedFn]",
      anon: "[Function]",
      big: "12n",
      bigCard: REDACTED,
      sym: "[Symbol(s)]",
      date: "1970-01-01T00:00:00.000Z",
      bad: null,
      map: "[Map(1)]",
      bytes: "[Uint8Array(3 bytes)]",
      err: { name: "TypeError", message: "bad input" },
      getter: "[Unreadable]",
      arr: ["[undefined]"],
    });
    assert.doesNotThrow(() => JSON.stringify(out));
  });
});

// ---------------------------------------------------------------------------------------
// Properties: a planted secret never survives.

const secretArb = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((s) => `S3CR3T${s}`);
const keyArb = fc.string({ maxLength: 12 });
const filler = fc.jsonValue({ maxDepth: 3 });
const fillerObject = fc.dictionary(keyArb, filler, { maxKeys: 5 });

/** `{...siblings, [key]: value}` with `key` always an own data property and winning. */
function withKey(
  siblings: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(siblings))
    if (k !== key)
      Object.defineProperty(out, k, {
        value: siblings[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

const sensitiveKeyArb = fc.constantFrom(
  "password",
  "api_key",
  "accessToken",
  "Authorization",
  "client_secret",
  "X-Api-Key",
  "set-cookie",
  "credentials",
  "PRIVATE_KEY",
  "cardNumber",
  "cvv",
);

type Step =
  | { kind: "object"; key: string; siblings: Record<string, unknown> }
  | { kind: "array"; before: unknown[]; after: unknown[] };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("object" as const), key: keyArb, siblings: fillerObject }),
  fc.record({
    kind: fc.constant("array" as const),
    before: fc.array(filler, { maxLength: 3 }),
    after: fc.array(filler, { maxLength: 3 }),
  }),
);

describe("redact: properties", () => {
  it("a secret under a sensitive key, anywhere in random JSON, never appears in the output", () => {
    fc.assert(
      fc.property(
        secretArb,
        sensitiveKeyArb,
        fc.constantFrom<(s: string) => unknown>(
          (s) => s,
          (s) => ({ inner: s }),
          (s) => [s],
          (s) => `Basic ${s}`,
        ),
        fillerObject,
        fc.array(stepArb, { maxLength: 8 }),
        (secret, key, shape, siblings, path) => {
          let value: unknown = withKey(siblings, key, shape(secret));
          for (const step of path) {
            value =
              step.kind === "object"
                ? withKey(step.siblings, step.key, value)
                : [...step.before, value, ...step.after];
          }
          const out = JSON.stringify(redact(value));
          assert.ok(!out.includes(secret), out);
        },
      ),
      { numRuns: 300 },
    );
  });

  interface Case {
    schema: JsonSchema;
    value: unknown;
    defs: Record<string, JsonSchema>;
  }
  const leafArb: fc.Arbitrary<Case> = secretArb.chain((secret) =>
    fc.constantFrom<Case>(
      { schema: { type: "string", sensitive: true }, value: secret, defs: {} },
      { schema: { type: "object", sensitive: true }, value: { inner: secret }, defs: {} },
      { schema: { type: "array", sensitive: true }, value: [secret], defs: {} },
    ),
  );
  const plainKey = fc.stringMatching(/^[a-z]{1,8}$/);

  function caseArb(depth: number): fc.Arbitrary<Case> {
    if (depth === 0) return leafArb;
    const inner = caseArb(depth - 1);
    const wrap = fc
      .tuple(inner, keyArb, plainKey, fillerObject)
      .chain(([c, key, plain, siblings]) =>
        fc.constantFrom<Case>(
          {
            schema: { type: "object", properties: { [key]: c.schema } },
            value: withKey(siblings, key, c.value),
            defs: c.defs,
          },
          {
            schema: { type: "object", patternProperties: { [`^${plain}$`]: c.schema } },
            value: withKey(siblings, plain, c.value),
            defs: c.defs,
          },
          {
            schema: {
              type: "object",
              properties: { id: { type: "string" } },
              additionalProperties: c.schema,
            },
            value: { id: "x", [`_${plain}`]: c.value },
            defs: c.defs,
          },
          { schema: { type: "array", items: c.schema }, value: [c.value, c.value], defs: c.defs },
          {
            schema: { type: "array", prefixItems: [{ type: "number" }, c.schema] },
            value: [1, c.value],
            defs: c.defs,
          },
          { schema: { anyOf: [{ type: "number" }, c.schema] }, value: c.value, defs: c.defs },
          { schema: { allOf: [{}, c.schema] }, value: c.value, defs: c.defs },
          (() => {
            const name = `d${Object.keys(c.defs).length}`;
            return {
              schema: { $ref: `#/$defs/${name}` },
              value: c.value,
              defs: { ...c.defs, [name]: c.schema },
            };
          })(),
        ),
      );
    return fc.oneof({ depthSize: "small" }, leafArb, wrap);
  }

  it("a secret at a sensitive-schema path never appears in the output", () => {
    fc.assert(
      fc.property(caseArb(6), fc.boolean(), (c, frozen) => {
        const schema: JsonSchema = {
          type: "object",
          properties: { root: c.schema },
          $defs: c.defs,
        };
        const value = { root: c.value };
        const out = JSON.stringify(redact(value, frozen ? deepFreeze(schema) : schema));
        assert.ok(!/S3CR3T/.test(out), `${out}\n${JSON.stringify(schema)}`);
      }),
      { numRuns: 300 },
    );
  });

  it("output is always JSON-serializable and within bounds", () => {
    fc.assert(
      fc.property(
        fc.anything({
          maxDepth: 5,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
        }),
        (value) => {
          const text = JSON.stringify(redact(value)) ?? "";
          assert.equal(typeof text, "string");
        },
      ),
      { numRuns: 300 },
    );
  });
});
