// Parser for RWKV World vocab files (`rwkv_vocab_v20230424.txt`, docs/spec.md §5.3): one token per line,
// `<id> <python repr literal> <byte length>`. A str literal's escapes are code points (UTF-8
// encoded, so '\x80' is C2 80); a bytes literal b'..' escapes raw bytes.
import * as fs from "node:fs";
import { utf8Encode } from "./utf8";

/**
 * Token bytes by id, packed: token i is bytes[starts[i] .. starts[i+1]); id 0 (end of
 * document) is empty. Packed because 65k small arrays cost tens of MB of heap.
 */
export interface Vocab {
  file: string;
  bytes: Uint8Array;
  starts: Int32Array;
}

export class VocabError extends Error {}

export function readVocabFile(file: string): Vocab {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new VocabError(`cannot read vocab file ${file}: ${(e as Error).message}`);
  }
  return parseVocab(text, file);
}

export function parseVocab(text: string, file = "<vocab>"): Vocab {
  const sink = new ByteSink(text.length);
  const starts: number[] = [0, 0];
  for (let i = 0, pos = 0; pos < text.length; i++) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl > pos && text[nl - 1] === "\r" ? nl - 1 : nl);
    pos = nl + 1;
    if (line === "") continue;
    const where = `${file}:${i + 1}`;
    const first = line.indexOf(" ");
    const last = line.lastIndexOf(" ");
    if (first <= 0 || last <= first)
      throw new VocabError(
        `${where}: expected '<id> <literal> <byte length>', got ${JSON.stringify(line.slice(0, 80))}`,
      );
    const id = Number(line.slice(0, first));
    const length = Number(line.slice(last + 1));
    if (!Number.isInteger(id) || id < 1)
      throw new VocabError(`${where}: bad token id ${JSON.stringify(line.slice(0, first))}`);
    if (id !== starts.length - 1)
      throw new VocabError(`${where}: token id ${id} out of order (expected ${starts.length - 1})`);
    const bytes = parsePyLiteral(line.slice(first + 1, last), where);
    if (bytes.length !== length)
      throw new VocabError(`${where}: literal has ${bytes.length} bytes but the line says ${length}`);
    sink.push(bytes);
    starts.push(sink.length);
  }
  if (starts.length < 258)
    throw new VocabError(`${file}: only ${starts.length - 2} tokens; a World vocab has all 256 single bytes and more`);
  return { file, bytes: sink.toArray(), starts: Int32Array.from(starts) };
}

class ByteSink {
  private buf: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  push(b: Uint8Array): void {
    if (this.length + b.length > this.buf.length) {
      const next = new Uint8Array(2 * (this.length + b.length));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  toArray(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Bytes of a Python str/bytes repr literal. */
export function parsePyLiteral(lit: string, where: string): Uint8Array {
  const isBytes = lit.startsWith("b");
  const body = isBytes ? lit.slice(1) : lit;
  const q = body[0];
  if ((q !== "'" && q !== '"') || body.length < 2 || body[body.length - 1] !== q)
    throw new VocabError(`${where}: not a quoted literal: ${lit}`);
  if (!isBytes && !body.includes("\\")) return utf8Encode(body.slice(1, -1)); // most lines: no escapes
  const out: number[] = [];
  let str = "";
  const put = (cp: number): void => {
    if (isBytes) {
      if (cp > 0xff) throw new VocabError(`${where}: non-byte value in bytes literal ${lit}`);
      out.push(cp);
    } else str += String.fromCodePoint(cp);
  };
  for (let i = 1; i < body.length - 1; i++) {
    const c = body[i];
    if (c !== "\\") {
      put(c.codePointAt(0)!);
      if (c.codePointAt(0)! > 0xffff) i++;
      continue;
    }
    const e = body[++i];
    const hex = (n: number): number => {
      const h = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) throw new VocabError(`${where}: bad \\${e} escape in ${lit}`);
      i += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case "\\":
        put(0x5c);
        break;
      case "'":
        put(0x27);
        break;
      case '"':
        put(0x22);
        break;
      case "n":
        put(0x0a);
        break;
      case "t":
        put(0x09);
        break;
      case "r":
        put(0x0d);
        break;
      case "x":
        put(hex(2));
        break;
      case "u":
        if (isBytes) throw new VocabError(`${where}: \\u in bytes literal ${lit}`);
        put(hex(4));
        break;
      case "U":
        if (isBytes) throw new VocabError(`${where}: \\U in bytes literal ${lit}`);
        put(hex(8));
        break;
      default:
        throw new VocabError(`${where}: unknown escape \\${e} in ${lit}`);
    }
  }
  return isBytes ? Uint8Array.from(out) : utf8Encode(str);
}
