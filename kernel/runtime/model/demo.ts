// The small model the project ships (assets/demo, made by scripts/demo/*.py): what Model.demo()
// loads and the tutorial uses when RWKV_MODEL is not set.
import * as path from "node:path";

/** assets/demo in the package (this file is dist/kernel/runtime/model/demo.js once compiled). */
export const DEMO_DIR = path.resolve(__dirname, "..", "..", "..", "..", "assets", "demo");

export const DEMO_FILES = {
  model: path.join(DEMO_DIR, "demo-model.pth"),
  /** Pirate answers without the system line: the tutorial's tuning data (jsonl, a `text` per line). */
  data: path.join(DEMO_DIR, "pirate.jsonl"),
  /** Held-out lines of the same kind. */
  evalData: path.join(DEMO_DIR, "pirate-eval.jsonl"),
  /** The same answers as chat (`messages` with user and assistant turns), for masked tuning. */
  chatData: path.join(DEMO_DIR, "pirate-chat.jsonl"),
  /** Held-out conversations of the same kind. */
  chatEvalData: path.join(DEMO_DIR, "pirate-chat-eval.jsonl"),
};

/** What the demo model is and what it cannot do: shown by its rich display and in the README. */
export const DEMO_ABOUT =
  "The demo model: a byte-level RWKV-7 of about 1M parameters (L4 C128), trained on templated chat in two voices: " +
  'a plain assistant and, after a "System: You are a pirate." line, a pirate. It only knows those two voices ' +
  "and short questions (sums, colours, animal sounds). Tuning a state for the pirate voice works in 60 steps; " +
  "tuned on a style it never saw, it learns nothing in 20 steps and turns to garbage by 150. " +
  "For real work load a released RWKV-7/6 checkpoint with Model.load.";
