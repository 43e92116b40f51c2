// The errors the runtime throws on bad input or cancellation. All share one base, RwkvError, so a
// caller can catch "anything rwkv-notebook refused" with instanceof, or one kind by class or by
// `name` (which survives structured cloning and printing, where classes do not). Each carries
// what it is about as fields (file, key, line), not only in its text.

export class RwkvError extends Error {
  override name = "RwkvError";
}

/** A model checkpoint (.pth / safetensors) that cannot be read, or does not fit: file and tensor key. */
export class CheckpointError extends RwkvError {
  override name = "CheckpointError";
  constructor(
    why: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ""}: ${why}`);
  }
}

/** Training data (jsonl, binidx, vocab files, datasets) that cannot be used: file and line where known. */
export class DataError extends RwkvError {
  override name = "DataError";
  readonly file?: string;
  readonly line?: number;
  /** A short machine-readable cause, e.g. "not-json", "no-text", "invalid-utf8". */
  readonly reason?: string;
  constructor(message: string, where: { file?: string; line?: number; reason?: string } = {}) {
    super(message);
    this.file = where.file;
    this.line = where.line;
    this.reason = where.reason;
  }
}

/** A state file (blocks.{l}.att.time_state) that cannot be read or does not fit the model: file and key. */
export class StateFileError extends RwkvError {
  override name = "StateFileError";
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** A tuner checkpoint that cannot be read, written, or resumed with this model: its file. */
export class TunerCheckpointError extends RwkvError {
  override name = "TunerCheckpointError";
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

/** An option that is unknown, misspelled or of the wrong type or range: its key (and the closest known key). */
export class OptionsError extends RwkvError {
  override name = "OptionsError";
  constructor(
    message: string,
    readonly key: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/** Thrown when an AbortSignal stops work (`signal.throwIfAborted()` semantics with one class). */
export class AbortError extends RwkvError {
  override name = "AbortError";
  /** The signal's reason (the kernel's "interrupted by the user", a DOMException, ...). */
  readonly reason: unknown;
  /** For a cancelled tuner step: the 1-based number of the step that was cancelled (nothing changed). */
  readonly step?: number;
  constructor(reason?: unknown, opts: { step?: number } = {}) {
    const why = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
    super(why ? `aborted: ${why}` : "aborted", { cause: reason });
    this.reason = reason;
    if (opts.step !== undefined) this.step = opts.step;
  }
}
