// Cancellation helpers: one AbortError shape, the cancel flag of withCancel, and the ambient signal
// a host (the Jupyter kernel) installs for calls made without one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSignal, setAmbientSignal, throwIfAborted, withCancel } from "../../kernel/runtime/cancel";
import { AbortError, RwkvError } from "../../kernel/runtime/errors";

test("AbortError: one class, caught by instanceof or name, carrying the signal's reason", () => {
  const ac = new AbortController();
  ac.abort(new Error("interrupted by the user"));
  assert.throws(
    () => throwIfAborted(ac.signal),
    (e: unknown) =>
      e instanceof AbortError &&
      e instanceof RwkvError &&
      e.name === "AbortError" &&
      e.message === "aborted: interrupted by the user" &&
      e.reason === ac.signal.reason,
  );
  assert.doesNotThrow(() => throwIfAborted(undefined));
  assert.doesNotThrow(() => throwIfAborted(new AbortController().signal));
});

test("withCancel raises the flag on abort and turns the call's failure into an AbortError", async () => {
  const ac = new AbortController();
  const seen: number[] = [];
  const run = withCancel(ac.signal, async (flag) => {
    await new Promise((res) => setTimeout(res, 20));
    seen.push(flag[0]);
    throw new Error("native: cancelled");
  });
  ac.abort();
  await assert.rejects(run, (e: Error) => e instanceof AbortError);
  assert.deepEqual(seen, [1]);
  // an already aborted signal never starts the call; a call that finishes returns its value
  let started = false;
  await assert.rejects(
    withCancel(AbortSignal.abort(), async () => (started = true)),
    AbortError,
  );
  assert.equal(started, false);
  assert.equal(await withCancel(undefined, async (flag) => flag[0] + 7), 7);
  await assert.rejects(
    withCancel(new AbortController().signal, async () => {
      throw new RangeError("bad input");
    }),
    RangeError,
  );
});

test("the ambient signal is used only when a call gets none", () => {
  const cell = new AbortController().signal,
    own = new AbortController().signal;
  assert.equal(resolveSignal(), undefined);
  setAmbientSignal(() => cell);
  try {
    assert.equal(resolveSignal(), cell);
    assert.equal(resolveSignal(own), own);
  } finally {
    setAmbientSignal(undefined);
  }
  assert.equal(resolveSignal(), undefined);
});
