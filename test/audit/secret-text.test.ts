// The free-text rules run on every audited string (and on upstream error messages), so a
// hostile string must not make them slow: every pattern is linear. These run the masker
// on 1 MB strings shaped against each rule, without the redactor's 16 KB scan window; a
// pattern that backtracks would not return (the run would hit the test timeout), so the
// assertions are on what comes back, not on time (the bench measures speed).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStringRedactor, REDACTED, redactString } from "../../src/audit/redact.js";
import { createTextMasker } from "../../src/audit/secret-text.js";

const SIZE = 1_000_000;
const fill = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

describe("secret text: hostile input", () => {
  const mask = createTextMasker({ emails: "redact" });
  const cases: Record<string, string> = {
    "one long word": fill("a"),
    "name runs split by dashes and dots": fill("a-b."),
    "separators everywhere": fill("a="),
    "a name too long before a separator": `${fill("x")}=1`,
    "blanks before a separator": `password${" ".repeat(SIZE)}= x`,
    "unclosed double quotes": fill('password="x '),
    "unclosed escaped quotes": fill('password=\\"x '),
    "unclosed single quotes": fill("password='x "),
    "BEGIN lines without END": fill("-----BEGIN RSA PRIVATE KEY-----"),
    "long PEM labels": fill(`-----BEGIN ${"A".repeat(60)} PRIVATE KEY`),
    "one BEGIN, many wrong ENDs": `-----BEGIN PRIVATE KEY-----${fill("-----END RSA PRIVATE KEY-----")}`,
    "schemes without @": fill("://a:"),
    "a userinfo that never ends": `://a:${fill("b")}`,
    "token prefixes": fill("sk_live_"),
    "short token bodies": fill("sk_test_abc "),
    "an AWS id that never ends": `AKIA${fill("A")}`,
    "local parts without @": fill("a.b+c"),
    "domains without dots": fill("a@b"),
    "digit groups": fill("4111 "),
    "JWT headers": fill("eyJa."),
    "bearer words": fill("bearer "),
    "authorization schemes": fill("authorization: bearer "),
    "cookie lists": `cookie: ${fill("a=b; ")}`,
    "cookie separators": fill("cookie:;"),
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`${name}: returns`, () => {
      const out = mask(text);
      assert.equal(typeof out, "string");
      assert.ok(out.length > 0);
    });
  }

  it("masks what it should in them", () => {
    // Compared by hand: a failure must not print a megabyte.
    const expect = (text: string, expected: string) => {
      const out = mask(text);
      assert.ok(out === expected, `${out.slice(0, 60)}... (${out.length} chars)`);
    };
    expect(`password="${fill("x")}`, `password="${REDACTED}`);
    expect(`password=${fill("x")}`, `password=${REDACTED}`);
    expect(fill("-----BEGIN RSA PRIVATE KEY-----"), `-----BEGIN RSA PRIVATE KEY-----${REDACTED}`);
    expect(fill("sk_live_"), `sk_live_${REDACTED}`);
    expect(`AKIA${fill("A")}`, `AKIA${fill("A")}`); // not 16 characters: no AWS id
    expect(`postgres://u:${fill("p")}@db`, `postgres://u:${REDACTED}@db`);
  });

  it("through redactString: bounded by the scan window and the cut", () => {
    const out = redactString(`password=hunter2 ${fill("a")}`);
    assert.ok(out.startsWith(`password=${REDACTED} aaa`), out.slice(0, 40));
    assert.ok(out.endsWith(" chars]"));
  });
});

describe("secret text: createStringRedactor", () => {
  it("is redactString with options (e-mails, key names)", () => {
    const text = "mail ops@example.com, iban=DE89370400440532013000, password=x";
    assert.equal(
      redactString(text),
      `mail ops@example.com, iban=DE89370400440532013000, password=${REDACTED}`,
    );
    const strict = createStringRedactor({ emails: "redact", keys: ["iban"] });
    assert.equal(strict(text), `mail ${REDACTED}, iban=${REDACTED}, password=${REDACTED}`);
  });

  it("refuses bad options", () => {
    assert.throws(() => createStringRedactor({ keys: [1 as unknown as string] }), TypeError);
    assert.throws(() => createStringRedactor({ emails: "yes" as "redact" }), TypeError);
  });
});
