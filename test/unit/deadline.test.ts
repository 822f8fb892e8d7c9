// src/util/deadline.ts: the one way work is bounded in time (execute, resources, prompts,
// completions, token verification).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledByClient,
  DeadlineExceeded,
  runBy,
  settleBy,
  TIMED_OUT,
  within,
} from "../../src/util/deadline.js";
import { LazyAbort, cancellationOf } from "../../src/util/lazy-abort.js";

const never = () => new Promise<never>(() => undefined);

describe("runBy / settleBy", () => {
  it("answers at the deadline with DeadlineExceeded even if the work ignores its signal", async () => {
    let seen: AbortSignal | undefined;
    const started = Date.now();
    await assert.rejects(
      runBy(
        (signal) => {
          seen = signal;
          return never();
        },
        { until: Date.now() + 40 },
      ),
      (error: unknown) => error instanceof DeadlineExceeded,
    );
    assert.ok(Date.now() - started >= 35, "not before the deadline");
    assert.equal(seen?.aborted, true);
    assert.ok(seen?.reason instanceof DeadlineExceeded);
  });

  it("answers at once with CancelledByClient when the caller cancels first", async () => {
    const caller = new AbortController();
    const abort = new LazyAbort();
    const answer = settleBy(never(), abort, {
      until: Date.now() + 60_000,
      cancellation: cancellationOf(caller.signal),
    });
    setTimeout(() => caller.abort(), 10);
    const started = Date.now();
    await assert.rejects(answer, (error: unknown) => error instanceof CancelledByClient);
    assert.ok(Date.now() - started < 5_000);
    assert.ok(abort.reason instanceof CancelledByClient);
  });

  it("returns the work's value, or its own error, when it settles first", async () => {
    assert.equal(await runBy(() => 42, { until: Date.now() + 60_000 }), 42);
    await assert.rejects(
      runBy(
        () => {
          throw new RangeError("bad");
        },
        { until: Date.now() + 60_000 },
      ),
      RangeError,
    );
  });

  it("a deadline already past answers DeadlineExceeded without waiting", async () => {
    await assert.rejects(
      runBy(() => never(), { until: Date.now() - 1 }),
      (error: unknown) => error instanceof DeadlineExceeded,
    );
  });
});

describe("within", () => {
  it("answers TIMED_OUT at the instant, and the value when the work is first", async () => {
    assert.equal(await within(never(), Date.now() + 20), TIMED_OUT);
    assert.equal(await within(Promise.resolve("ok"), Date.now() + 60_000), "ok");
  });
});
