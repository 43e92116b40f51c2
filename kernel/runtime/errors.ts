// The errors the runtime throws on bad input or cancellation. All share one base, RwkvError, so a
// caller can catch "anything rwkv-notebook refused" with instanceof, or one kind by class or by
// `name` (which survives structured cloning and printing, where classes do not). Each carries
// what it is about as fields (file, key, line), not only in its text.

export class RwkvError extends Error {
  override name = "RwkvError";
}

/** Thrown when an AbortSignal stops work (`signal.throwIfAborted()` semantics with one class). */
export class AbortError extends RwkvError {
  override name = "AbortError";
  /** The signal's reason (the kernel's "interrupted by the user", a DOMException, ...). */
  readonly reason: unknown;
  constructor(reason?: unknown) {
    const why = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
    super(why ? `aborted: ${why}` : "aborted", { cause: reason });
    this.reason = reason;
  }
}
