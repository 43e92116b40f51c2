// Chat and SFT lines → the RWKV World chat template, cut into pieces that do or do not count in the
// loss (docs/spec.md §5.4). One jsonl line is one document, in any of three forms:
//   {"text": "..."}                                   every token counts (make_data.py's documents)
//   {"query": "...", "response": "..."}               field names configurable (PEFT --sft_field)
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
// A turn is rendered "Role: content\n\n"; of an assistant turn, " content\n\n" counts and the
// "Assistant:" before it does not (an inference prompt ends with "Assistant:"). Each piece is
// tokenized on its own, so the mask falls on token boundaries exactly where the prompt ends.
import { lineFailure, parseJsonLine, type LineFailure } from "./jsonl";

/** Which line forms a file holds: plain `text` (make_data.py) or chat (all three forms). */
export type DataFormat = "text" | "chat";

/** A piece of a rendered document and whether its tokens count in a masked loss. */
export interface Segment {
  text: string;
  counted: boolean;
}

/** The names of the prompt and response fields (PEFT's `--sft_field query response`). */
export type ChatFields = readonly [prompt: string, response: string];
export const DEFAULT_CHAT_FIELDS: ChatFields = ["query", "response"];

const ROLES = { system: "System", user: "User", assistant: "Assistant" } as const;
export type Role = keyof typeof ROLES;
const SEPARATOR = "\n\n";

/**
 * A message's content as the template writes it: trimmed, CRLF as LF, and blank lines collapsed
 * (a blank line ends a turn in the template, so content must not hold one; ChatRWKV does the same).
 */
export function normalizeContent(content: string): string {
  return content
    .trim()
    .replace(/\r\n?/g, "\n")
    .replace(/\n\s*\n/g, "\n");
}

/** One turn's pieces: `Role: content\n\n`, the assistant's content (with its separator) counted. */
export function turnSegments(role: Role, content: string): Segment[] {
  const c = normalizeContent(content);
  if (role !== "assistant") return [{ text: `${ROLES[role]}: ${c}${SEPARATOR}`, counted: false }];
  return [
    { text: `${ROLES.assistant}:`, counted: false },
    { text: ` ${c}${SEPARATOR}`, counted: true },
  ];
}

/** The rendered text of a document's pieces (what a model reads). */
export const renderedText = (segments: readonly Segment[]): string => segments.map((s) => s.text).join("");

/**
 * The pieces of one parsed chat line (an object), or a DataError through `fail`. `text` lines give
 * one counted piece, as make_data.py counts every token of them.
 */
export function chatSegments(value: unknown, fields: ChatFields, fail: LineFailure): Segment[] {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("not-object", "not a JSON object");
  const o = value as Record<string, unknown>;
  const str = (key: string, v: unknown): string => {
    if (typeof v !== "string") return fail("not-string", `"${key}" is ${v === null ? "null" : typeof v}, not a string`);
    if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed())
      return fail("lone-surrogate", `"${key}" holds an unpaired surrogate escape (not valid Unicode)`);
    return v;
  };
  if ("messages" in o) {
    const m = o.messages;
    if (!Array.isArray(m) || m.length === 0) return fail("bad-messages", `"messages" must be a non-empty array`);
    return m.flatMap((msg, i) => {
      if (typeof msg !== "object" || msg === null || Array.isArray(msg))
        return fail("bad-messages", `messages[${i}] is not an object`);
      const { role, content } = msg as Record<string, unknown>;
      if (typeof role !== "string" || !Object.hasOwn(ROLES, role))
        return fail("bad-role", `messages[${i}].role is ${JSON.stringify(role)}: use "system", "user" or "assistant"`);
      return turnSegments(role as Role, str(`messages[${i}].content`, content));
    });
  }
  const [prompt, response] = fields;
  if (prompt in o || response in o) {
    if (!(prompt in o)) return fail("no-prompt", `has "${response}" but no "${prompt}" field`);
    if (!(response in o)) return fail("no-response", `has "${prompt}" but no "${response}" field`);
    return [...turnSegments("user", str(prompt, o[prompt])), ...turnSegments("assistant", str(response, o[response]))];
  }
  if ("text" in o) return [{ text: str("text", o.text), counted: true }];
  return fail("no-text", `no "text", "messages" or "${prompt}"/"${response}" fields`);
}

/** The pieces of one chat-format jsonl line, or null for a blank line; a bad line fails with its number. */
export function parseChatLine(line: string, lineNo: number, file: string, fields: ChatFields): Segment[] | null {
  const fail = lineFailure(line, lineNo, file);
  const value = parseJsonLine(line, fail);
  return value === undefined ? null : chatSegments(value, fields, fail);
}
