// The `text` of every line of a small jsonl file (the demo data), for tests that build a Dataset.
import * as fs from "node:fs";

export function jsonlTexts(file: string): string[] {
  return fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { text: string }).text);
}
