// Secrets inside free text (issue 18, defect 9): API keys in a sentence, passwords in
// connection strings, PEM private keys under a harmless field name, `password=...` in
// notes and JSON text. Each was stored in clear before; the value decides, not the key.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { createRedactor, REDACTED, redactString } from "../../src/audit/redact.js";

const redact = createRedactor();

/** Asserts `text` redacts to `expected`, and that redacting again changes nothing. */
function masks(text: string, expected: string): void {
  const once = redactString(text);
  assert.equal(once, expected, text);
  assert.equal(redactString(once), once, `masking twice must not change ${once}`);
  assert.deepEqual(redact({ note: text }), { note: expected }, "the same through the redactor");
}

function keeps(text: string): void {
  assert.equal(redactString(text), text, text);
}

describe("redact: API keys inside text", () => {
  // Built at run time so no secret-shaped literal sits in the repository.
  const tail = "4eC39HqLyjWDarjtT1zdp7dc";
  it("masks Stripe secret, restricted and webhook keys, keeping the prefix", () => {
    for (const prefix of ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]) {
      masks(`charge it with ${prefix}${tail} please`, `charge it with ${prefix}${REDACTED} please`);
      masks(`${prefix}${tail}`, `${prefix}${REDACTED}`);
    }
    // UUID-style bodies too (dashes), e.g. test fixtures.
    masks(
      "key=sk_live_0b1c9a52-7e0e-4c1b-9f3e-2a7d5c8e1f00.",
      // `key` is no secret name: the token rule masks it where it stands.
      `key=sk_live_${REDACTED}.`,
    );
  });

  it("masks GitHub, Slack, AWS, Google, OpenAI and Anthropic keys", () => {
    const cases: [string, string][] = [
      [`ghp_${"a1B2".repeat(9)}`, "ghp_"],
      [`ghs_${"Z9y8".repeat(9)}`, "ghs_"],
      [`github_pat_11ABCDEFG0_${"x".repeat(60)}`, "github_pat_"],
      ["xoxb-1234567890-0987654321-AbCdEfGhIjKl", "xoxb-"],
      ["xoxp-1234567890-abcdef", "xoxp-"],
      ["AKIAIOSFODNN7EXAMPLE", "AKIA"],
      ["ASIAY34FZKBOKMUTVV7A", "ASIA"],
      [`AIza${"SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY".slice(0, 35)}`, "AIza"],
      [`sk-proj-${"Ab3".repeat(16)}`, "sk-"],
      [`sk-ant-api03-${"q".repeat(40)}`, "sk-"],
    ];
    for (const [key, prefix] of cases) {
      masks(`export TOKEN ${key} now`, `export TOKEN ${prefix}${REDACTED} now`);
    }
  });

  it("keeps look-alikes that are not keys", () => {
    for (const text of [
      "sk_live_ mode is on", // no token after the prefix
      "pk_live_4eC39HqLyjWDarjtT1zdp7dc", // publishable: public by design
      "risk_test_results_for_q3_2024", // `rk_test_` inside a word
      "task-scheduler-v2-production-east", // `sk-` inside a word
      "AKIA is a prefix", // too short
      "sk-learn",
    ]) {
      keeps(text);
    }
  });
});

describe("redact: passwords in URLs", () => {
  it("masks the password of any scheme and keeps user, host, port and path", () => {
    masks(
      "postgres://admin:pw@db.internal:5432/app",
      `postgres://admin:${REDACTED}@db.internal:5432/app`,
    );
    masks(
      "connect to postgres://admin:S3cr3t!@db/app?sslmode=require then retry",
      `connect to postgres://admin:${REDACTED}@db/app?sslmode=require then retry`,
    );
    masks("redis://:hunter2@cache:6379/0", `redis://:${REDACTED}@cache:6379/0`);
    masks(
      "mongodb+srv://u:p@cluster0.example.net/db",
      `mongodb+srv://u:${REDACTED}@cluster0.example.net/db`,
    );
    masks("amqp://guest:guest@rabbit", `amqp://guest:${REDACTED}@rabbit`);
    // An unencoded "@" in the password: the last "@" of the authority ends it.
    masks("https://user:p@ss@example.com/x", `https://user:${REDACTED}@example.com/x`);
    masks(
      '{"dsn":"mysql://root:toor@127.0.0.1:3306/shop"}',
      `{"dsn":"mysql://root:${REDACTED}@127.0.0.1:3306/shop"}`,
    );
  });

  it("keeps URLs without a password", () => {
    for (const text of [
      "https://example.com:8443/path?a=b@c",
      "https://user@example.com/",
      "git@github.com:org/repo.git",
      "ftp://host:21/file",
    ]) {
      keeps(text);
    }
  });
});

describe("redact: PEM private keys", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs8 = String(privateKey.export({ type: "pkcs8", format: "pem" }));
  const pkcs1 = String(privateKey.export({ type: "pkcs1", format: "pem" }));
  const body = (pem: string) => pem.split("\n")[1]!; // the first base64 line

  it("masks a key under a field named `key`: the value decides, not the name", () => {
    const out = redact({ key: pkcs8, id: "k1" }) as { key: string; id: string };
    assert.equal(out.key, `-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\n`);
    assert.equal(out.id, "k1");
    assert.ok(!JSON.stringify(out).includes(body(pkcs8)));
  });

  it("masks every private key label, inside text, and keeps what follows", () => {
    masks(
      `config:\n${pkcs1}rest of the note`,
      `config:\n-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----\nrest of the note`,
    );
    for (const label of ["EC ", "OPENSSH ", "ENCRYPTED ", "DSA "]) {
      const pem = `-----BEGIN ${label}PRIVATE KEY-----\nMHcCAQEEIB\nAoGBAK\n-----END ${label}PRIVATE KEY-----`;
      masks(pem, `-----BEGIN ${label}PRIVATE KEY-----${REDACTED}-----END ${label}PRIVATE KEY-----`);
    }
    const pgp =
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----";
    masks(
      pgp,
      `-----BEGIN PGP PRIVATE KEY BLOCK-----${REDACTED}-----END PGP PRIVATE KEY BLOCK-----`,
    );
    // JSON-escaped newlines, as in a key pasted into a JSON string.
    masks(
      JSON.stringify({ private: pkcs8 }),
      `{"private":"-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\\n"}`,
    );
  });

  it("masks to the end of the text when the END line is missing or cut", () => {
    const cut = pkcs8.slice(0, 200);
    masks(`here: ${cut}`, `here: -----BEGIN PRIVATE KEY-----${REDACTED}`);
    masks(
      pkcs8.slice(0, -10), // the END line itself cut: "-----END PRIV"
      `-----BEGIN PRIVATE KEY-----${REDACTED}`,
    );
  });

  it("keeps public keys and certificates", () => {
    keeps(String(publicKey.export({ type: "spki", format: "pem" })));
    keeps("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----");
  });
});

describe("redact: name=value assignments in text", () => {
  it("masks the value of a secret-looking name in every common notation", () => {
    const cases: [string, string][] = [
      ["password=hunter2", `password=${REDACTED}`],
      ["login with password: hunter2, then retry", `login with password: ${REDACTED}, then retry`],
      ['{"user":"bob","password":"hunter2"}', `{"user":"bob","password":"${REDACTED}"}`],
      ['{"password" : "hun\\"ter2", "n": 1}', `{"password" : "${REDACTED}", "n": 1}`],
      ['{\\"password\\":\\"hunter2\\"}', `{\\"password\\":\\"${REDACTED}\\"}`],
      ["pwd=hunter2&user=bob", `pwd=${REDACTED}&user=bob`],
      ["secret=abc;other=1", `secret=${REDACTED};other=1`],
      ["token=abc def", `token=${REDACTED} def`],
      ["?access_token=abc&state=1", `?access_token=${REDACTED}&state=1`],
      ["client_secret: 'abc'", `client_secret: '${REDACTED}'`],
      ["DB_PASSWORD=p PGPASSWORD=q", `DB_PASSWORD=${REDACTED} PGPASSWORD=${REDACTED}`],
      ["--password=hunter2 --user=bob", `--password=${REDACTED} --user=bob`],
      ["'password' => 'hunter2'", `'password' => '${REDACTED}'`],
      ["password := hunter2", `password := ${REDACTED}`],
      ["x-api-key: abc123", `x-api-key: ${REDACTED}`],
      ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", `aws_secret_access_key = ${REDACTED}`],
      ["Authorization: Basic dXNlcjpwYXNz", `Authorization: Basic ${REDACTED}`],
      ["note:password=hunter2", `note:password=${REDACTED}`],
      ["curl -H 'Cookie: sid=abc; csrf=def' https://x", `curl -H 'Cookie: ${REDACTED}' https://x`],
      ["Set-Cookie: sid=abc;Path=/; HttpOnly", `Set-Cookie: ${REDACTED}`],
      ['password="unclosed quote\nnext line', `password="${REDACTED}\nnext line`],
    ];
    for (const [text, expected] of cases) masks(text, expected);
  });

  it("keeps harmless names and things that only look like assignments", () => {
    for (const text of [
      "max_tokens=100 temperature=0.2",
      "note: call back at 12:30",
      "token_count: 55",
      "https://example.com/a?b=c",
      "ratio 3:2, a==b",
    ]) {
      keeps(text);
    }
  });

  it("uses the redactor's own key names in text too", () => {
    const withIban = createRedactor({ keys: ["iban"] });
    assert.deepEqual(withIban({ note: "pay to iban=DE89370400440532013000 today" }), {
      note: `pay to iban=${REDACTED} today`,
    });
  });
});

describe("redact: e-mail addresses", () => {
  const text = "invite alice@example.com and bob.smith+ops@mail.example.co.uk";

  it("are kept by default: they name who a call was about", () => {
    keeps(text);
    assert.deepEqual(redact({ to: text }), { to: text });
  });

  it('are masked whole with `emails: "redact"`', () => {
    const strict = createRedactor({ emails: "redact" });
    assert.deepEqual(strict({ to: text, n: "no address@here" }), {
      to: `invite ${REDACTED} and ${REDACTED}`,
      n: "no address@here",
    });
  });

  it("a bad option is refused when the redactor is built", () => {
    assert.throws(
      () => createRedactor({ emails: "mask" as "redact" }),
      (error: unknown) =>
        error instanceof TypeError && /emails must be "keep" or "redact"/.test(error.message),
    );
  });
});
