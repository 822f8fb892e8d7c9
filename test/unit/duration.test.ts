// The one duration syntax (src/util/duration.ts), shared by the gateway config file and
// `toolgate contract --timeout`: units ms, s, m, h, fractions rounded to whole ms, and a
// bare integer is milliseconds in both places.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTimeout } from "../../src/cli/contract-source.js";
import { UsageError } from "../../src/cli/command.js";
import { MAX_DURATION_MS, parseDuration } from "../../src/util/duration.js";

describe("parseDuration", () => {
  it("reads each unit, fractions and bare integers (milliseconds)", () => {
    const cases: [unknown, number][] = [
      ["500ms", 500],
      ["10s", 10_000],
      ["1.5s", 1500],
      [" 2 m ", 120_000],
      ["1h", 3_600_000],
      ["0.0005s", 1],
      ["250", 250],
      [250, 250],
    ];
    for (const [value, ms] of cases) assert.equal(parseDuration(value), ms, String(value));
  });

  it("refuses what is not a duration, zero, and more than setTimeout can wait", () => {
    for (const value of ["", "soon", "10 seconds", "1d", "-5s", "1.5", 1.5, 0, "0s", true, null]) {
      assert.equal(parseDuration(value), undefined, String(value));
    }
    assert.equal(parseDuration(MAX_DURATION_MS), MAX_DURATION_MS);
    assert.equal(parseDuration(MAX_DURATION_MS + 1), undefined);
    assert.equal(parseDuration("10m", 60_000), undefined);
  });
});

describe("contract --timeout", () => {
  it("takes the same durations, up to 10 minutes; a bare integer is milliseconds", () => {
    assert.equal(parseTimeout("10s"), 10_000);
    assert.equal(parseTimeout("1500ms"), 1500);
    assert.equal(parseTimeout("1500"), 1500);
    assert.equal(parseTimeout("10m"), 600_000);
    assert.throws(() => parseTimeout("11m"), UsageError);
    assert.throws(() => parseTimeout("soon"), /--timeout 'soon' is not a duration up to 10m/);
  });
});
