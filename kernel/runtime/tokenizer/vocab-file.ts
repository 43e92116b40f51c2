// Parser for RWKV World vocab files (`rwkv_vocab_v20230424.txt`, docs/spec.md §5.3): one token per line,
// `<id> <python repr literal> <byte length>`. A str literal's escapes are code points (UTF-8
// encoded, so '\x80' is C2 80); a bytes literal b'..' escapes raw bytes.
import * as fs from "node:fs";
import { GrowableArray } from "../growable";
import { utf8Encode } from "./utf8";
import { DataError } from "../errors";

/**
 * Token bytes by id, packed: token i is bytes[starts[i] .. starts[i+1]); id 0 (end of
 * document) is empty. Packed because 65k small arrays cost tens of MB of heap.
 */
export interface Vocab {
  file: string;
  bytes: Uint8Array;
  starts: Int32Array;
}

/** A World vocab file that cannot be found, read or parsed: the file, the line, the places looked at. */
export class VocabError extends DataError {
  override name = "VocabError";
  /** Where the lookup looked when no vocab file was found. */
  readonly searched?: string[];
  constructor(message: string, where: { file?: string; line?: number; searched?: string[] } = {}) {
    super(message, where);
    this.searched = where.searched;
  }
}

export function readVocabFile(file: string): Vocab {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new VocabError(`cannot read vocab file ${file}: ${(e as Error).message}`, { file });
  }
  return parseVocab(text, file);
}

export function parseVocab(text: string, file = "<vocab>"): Vocab {
  const sink = new GrowableArray((n) => new Uint8Array(n), text.length);
  const starts: number[] = [0, 0];
  for (let i = 0, pos = 0; pos < text.length; i++) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl > pos && text[nl - 1] === "\r" ? nl - 1 : nl);
    pos = nl + 1;
    if (line === "") continue;
    const where = `${file}:${i + 1}`,
      at = { file, line: i + 1 };
    const first = line.indexOf(" ");
    const last = line.lastIndexOf(" ");
    if (first <= 0 || last <= first)
      throw new VocabError(
        `${where}: expected '<id> <literal> <byte length>', got ${JSON.stringify(line.slice(0, 80))}`,
        at,
      );
    const id = Number(line.slice(0, first));
    const length = Number(line.slice(last + 1));
    if (!Number.isInteger(id) || id < 1)
      throw new VocabError(`${where}: bad token id ${JSON.stringify(line.slice(0, first))}`, at);
    if (id !== starts.length - 1)
      throw new VocabError(`${where}: token id ${id} out of order (expected ${starts.length - 1})`, at);
    const bytes = parsePyLiteral(line.slice(first + 1, last), where, at);
    if (bytes.length !== length)
      throw new VocabError(`${where}: literal has ${bytes.length} bytes but the line says ${length}`, at);
    sink.push(bytes);
    starts.push(sink.length);
  }
  if (starts.length < 258)
    throw new VocabError(`${file}: only ${starts.length - 2} tokens; a World vocab has all 256 single bytes and more`, {
      file,
    });
  return { file, bytes: sink.toArray(), starts: Int32Array.from(starts) };
}

/** Bytes of a Python str/bytes repr literal. */
export function parsePyLiteral(lit: string, where: string, at: { file?: string; line?: number } = {}): Uint8Array {
  const isBytes = lit.startsWith("b");
  const body = isBytes ? lit.slice(1) : lit;
  const q = body[0];
  if ((q !== "'" && q !== '"') || body.length < 2 || body[body.length - 1] !== q)
    throw new VocabError(`${where}: not a quoted literal: ${lit}`, at);
  if (!isBytes && !body.includes("\\")) return utf8Encode(body.slice(1, -1)); // most lines: no escapes
  const out: number[] = [];
  let str = "";
  const put = (cp: number): void => {
    if (isBytes) {
      if (cp > 0xff) throw new VocabError(`${where}: non-byte value in bytes literal ${lit}`, at);
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
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n)
        throw new VocabError(`${where}: bad \\${e} escape in ${lit}`, at);
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
        if (isBytes) throw new VocabError(`${where}: \\u in bytes literal ${lit}`, at);
        put(hex(4));
        break;
      case "U":
        if (isBytes) throw new VocabError(`${where}: \\U in bytes literal ${lit}`, at);
        put(hex(8));
        break;
      default:
        throw new VocabError(`${where}: unknown escape \\${e} in ${lit}`, at);
    }
  }
  return isBytes ? Uint8Array.from(out) : utf8Encode(str);
}
