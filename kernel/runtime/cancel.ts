// Cancellation: every long runtime call takes an AbortSignal and stops with an AbortError.
//
// The ambient signal is the one hook between the runtime and whoever hosts it. A host that runs
// user code in units that can be interrupted (the Jupyter kernel: one cell) installs a provider
// with setAmbientSignal; a runtime call given no signal then uses the provider's, so interrupting
// a cell stops `tuner.run()` or `model.forward()` without the user passing a signal. Plain Node
// and the CLI install nothing and pass their signals explicitly.
import { AbortError } from "./errors";
import type { CancelFlag } from "./native";

let ambient: (() => AbortSignal | undefined) | undefined;

/** Installs (or, with undefined, removes) the provider of the signal used when a call gets none. */
export function setAmbientSignal(provider: (() => AbortSignal | undefined) | undefined): void {
  ambient = provider;
}

/** The signal a call should obey: its own, else the ambient one, else none. */
export function resolveSignal(signal?: AbortSignal): AbortSignal | undefined {
  return signal ?? ambient?.();
}

/** Throws an AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * Runs a native call with a cancel flag the addon polls, raised when `signal` fires. Whatever the
 * call fails with after the signal fired becomes an AbortError; a call that finished still returns.
 */
export async function withCancel<T>(signal: AbortSignal | undefined, fn: (flag: CancelFlag) => Promise<T>): Promise<T> {
  throwIfAborted(signal);
  const flag: CancelFlag = new Int32Array(1);
  const raise = (): void => {
    flag[0] = 1;
  };
  signal?.addEventListener("abort", raise, { once: true });
  try {
    return await fn(flag);
  } catch (e) {
    throwIfAborted(signal);
    throw e;
  } finally {
    signal?.removeEventListener("abort", raise);
  }
}
