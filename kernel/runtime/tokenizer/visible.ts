// Tokens as a person can read them: a token that is a space, a newline or half a UTF-8 character
// prints as nothing, or as a box. Space shows as ␣, newline as ⏎, other control characters and
// bytes that are not valid UTF-8 as \xNN; the end-of-document token as ⟨end⟩. The one helper for
// every place that shows tokens (figures, tables, hover text).
import { END_OF_DOC, type Tokenizer } from "./types";

export const END_LABEL = "⟨end⟩";

const hex = (b: number): string => `\\x${b.toString(16).padStart(2, "0")}`;

function visibleChar(c: string): string {
  if (c === " ") return "␣";
  if (c === "\n") return "⏎";
  const cp = c.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return cp < 0x100 ? hex(cp) : `\\u${cp.toString(16)}`;
  if (cp >= 0xd800 && cp < 0xe000) return `\\u${cp.toString(16)}`; // a lone surrogate
  return c;
}

/** Length of the valid UTF-8 sequence starting at bytes[i], or 0 when it is not one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  const [n, min] = b < 0x80 ? [1, 0] : b >= 0xc2 && b < 0xe0 ? [2, 0x80] : b >= 0xe0 && b < 0xf0 ? [3, 0x800] : [4, 0];
  if (n === 4 && !(b >= 0xf0 && b < 0xf5)) return 0;
  if (i + n > bytes.length) return 0;
  let cp = n === 1 ? b : b & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (bytes[i + k] & 0x3f);
  }
  const ok = cp >= min && !(cp >= 0xd800 && cp < 0xe000) && (n < 4 || (cp >= 0x10000 && cp <= 0x10ffff));
  return ok ? n : 0;
}

/** A token's text (a string) or raw bytes, made visible; invalid UTF-8 bytes become \xNN. */
export function visibleToken(token: string | Uint8Array): string {
  if (typeof token === "string") return Array.from(token, visibleChar).join("");
  let out = "";
  for (let i = 0; i < token.length;) {
    const n = sequenceLength(token, i);
    if (n === 0) {
      out += hex(token[i]);
      i += 1;
    } else {
      out += visibleChar(Buffer.from(token.subarray(i, i + n)).toString("utf8"));
      i += n;
    }
  }
  return out;
}

/** The visible label of one token id of `tokenizer`. */
export function tokenLabel(tokenizer: Tokenizer, id: number): string {
  return id === END_OF_DOC ? END_LABEL : visibleToken(tokenizer.decodeBytes([id]));
}
