// The tokenizer a call uses when it is given none (makeData, Dataset.fromTexts, datasetTable): the
// one of the models loaded in this process, so that data made after `Model.load` or `Model.demo()`
// is in the model's own tokens. Loaded models whose tokenizers differ make the choice ambiguous:
// then the caller must name one. With no model loaded the caller's own default applies (World).
import { OptionsError } from "../errors";
import type { Tokenizer } from "./types";

/** A loaded model, as this registry sees it. */
export interface TokenizerSource {
  /** "world" or "bytes" (a model's kind is known before its vocab file is read). */
  readonly tokenizerKind: string;
  readonly tokenizer: Tokenizer;
  readonly disposed: boolean;
}

const sources: WeakRef<TokenizerSource>[] = [];

/** Model.load registers every model; a disposed or collected one no longer counts. */
export function registerTokenizerSource(s: TokenizerSource): void {
  sources.push(new WeakRef(s));
}

function liveSources(): TokenizerSource[] {
  const live: TokenizerSource[] = [];
  for (let i = sources.length - 1; i >= 0; i--) {
    const s = sources[i].deref();
    if (!s || s.disposed) sources.splice(i, 1);
    else live.unshift(s);
  }
  return live;
}

/**
 * The loaded models' tokenizer (the last model loaded, when all loaded models share a kind), or
 * undefined when no model is loaded. Throws an OptionsError naming `tokenizer` when they differ.
 */
export function loadedModelTokenizer(caller: string): Tokenizer | undefined {
  const live = liveSources();
  if (live.length === 0) return undefined;
  const kinds = [...new Set(live.map((s) => s.tokenizerKind))];
  if (kinds.length > 1)
    throw new OptionsError(
      `${caller}: the loaded models use different tokenizers (${kinds.join(", ")}): ` +
        "pass { tokenizer: model.tokenizer } for the model the data is for",
      "tokenizer",
    );
  return live[live.length - 1].tokenizer;
}
