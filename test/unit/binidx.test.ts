// binidx: the spec's worked example byte for byte, read-back, the dtypes RWKV tools write,
// errors for an .idx that does not match its .bin; in-memory datasets, histogram, Arrow view.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BinIdxDataset,
  Dataset,
  datasetTable,
  encodeIdx,
  lengthHistogram,
  writeBinIdx,
  idxHeader,
  type BinDType,
} from "../../kernel/runtime/data";
import { ByteTokenizer } from "../../kernel/runtime/tokenizer";

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-binidx-"));
const DOCS = [
  [5, 6, 7, 8, 0],
  [9, 10, 0],
];
const SPEC_IDX_HEX = (
  "4d4d4944494458 0000 0100000000000000 08 0200000000000000 0300000000000000 " +
  "05000000 03000000 0000000000000000 0a00000000000000 0000000000000000 0100000000000000 0200000000000000"
).replace(/ /g, "");

test(".idx of the spec's worked example matches byte for byte; .bin is 16 bytes", () => {
  const dir = tmp();
  try {
    const prefix = path.join(dir, "ex");
    writeBinIdx(prefix, DOCS);
    const idx = fs.readFileSync(`${prefix}.idx`);
    assert.equal(idx.length, 82);
    assert.equal(idx.toString("hex"), SPEC_IDX_HEX);
    assert.equal(fs.readFileSync(`${prefix}.bin`).toString("hex"), "0500060007000800000009000a000000");
    fs.readdirSync(dir).forEach((f) => assert.ok(!f.includes(".tmp-"), `temporary file left: ${f}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("BinIdxDataset reads back documents, slices across documents, mmap and positional reads agree", () => {
  const dir = tmp();
  try {
    const prefix = path.join(dir, "d");
    const docs = Array.from({ length: 50 }, (_, i) => [
      ...Array.from({ length: 1 + ((i * 7) % 13) }, (_, j) => 1 + ((i * 31 + j * 17) % 65000)),
      0,
    ]);
    writeBinIdx(prefix, docs);
    for (const mmap of [true, false]) {
      const ds = BinIdxDataset.open(`${prefix}.bin`, { mmap });
      assert.equal(ds.docCount, 50);
      assert.equal(ds.dtype, "uint16");
      assert.equal(
        ds.tokenCount,
        docs.reduce((s, d) => s + d.length, 0),
      );
      docs.forEach((d, i) => assert.deepEqual(Array.from(ds.doc(i)), d));
      const flat = docs.flat();
      assert.deepEqual(Array.from(ds.slice(3, 40)), flat.slice(3, 43));
      assert.throws(() => ds.slice(flat.length - 2, 3), /out of range/);
      assert.throws(() => ds.doc(50), /document 50 out of range/);
      ds.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Writes a binidx by hand in any dtype code (as other tools would). */
function writeRaw(
  prefix: string,
  dtype: BinDType,
  code: number,
  values: number[],
  sizes: number[],
  itemSize: number,
): void {
  const idx = encodeIdx(dtype, sizes);
  idx[17] = code;
  fs.writeFileSync(`${prefix}.idx`, idx);
  const bin = Buffer.alloc(values.length * itemSize);
  values.forEach((v, i) => {
    if (itemSize === 4 && dtype === "float32") bin.writeFloatLE(v, 4 * i);
    else if (itemSize === 8 && dtype === "float64") bin.writeDoubleLE(v, 8 * i);
    else if (itemSize === 8) bin.writeBigInt64LE(BigInt(v), 8 * i);
    else if (itemSize === 4) bin.writeInt32LE(v, 4 * i);
    else if (itemSize === 2) bin.writeUInt16LE(v, 2 * i);
    else bin.writeUInt8(v, i);
  });
  fs.writeFileSync(`${prefix}.bin`, new Uint8Array(bin));
}

test("reads json2binidx int32 (code 4) and the other dtype codes of docs/spec.md §5.1", () => {
  const dir = tmp();
  try {
    const prefix = path.join(dir, "x");
    writeBinIdx(
      prefix,
      [
        [65535, 70000, 0],
        [3, 0],
      ],
      "int32",
    ); // int32 as json2binidx writes
    let ds = BinIdxDataset.open(prefix);
    assert.equal(ds.dtype, "int32");
    assert.equal(fs.readFileSync(`${prefix}.idx`)[17], 4);
    assert.deepEqual(Array.from(ds.doc(0)), [65535, 70000, 0]);
    ds.close();
    const cases: Array<[BinDType, number, number]> = [
      ["uint8", 1, 1],
      ["int8", 2, 1],
      ["int16", 3, 2],
      ["int64", 5, 8],
      ["float32", 6, 4],
      ["float64", 6, 8],
      ["float64", 7, 8],
      ["uint16", 8, 2],
    ];
    for (const [dtype, code, size] of cases) {
      writeRaw(prefix, dtype, code, [1, 2, 0, 7, 0], [3, 2], size);
      ds = BinIdxDataset.open(prefix);
      assert.equal(ds.dtype, dtype, `code ${code}, ${size} bytes`);
      assert.deepEqual(Array.from(ds.doc(1)), [7, 0]);
      ds.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(".idx errors: bad magic, unknown dtype, truncated, sizes not matching .bin, bad pointers/doc_idx, missing files", () => {
  const dir = tmp();
  try {
    const prefix = path.join(dir, "e");
    const good = (): void => writeBinIdx(prefix, DOCS);
    const patch = (f: (b: Buffer) => Buffer): void => {
      good();
      fs.writeFileSync(`${prefix}.idx`, new Uint8Array(f(fs.readFileSync(`${prefix}.idx`))));
    };
    const expectErr = (re: RegExp): void => {
      assert.throws(
        () => BinIdxDataset.open(prefix),
        (e: Error) => re.test(e.message) && e.message.includes(prefix),
        re.source,
      );
    };
    patch((b) => {
      b[0] = 0x58;
      return b;
    });
    expectErr(/not a binidx index \(magic/);
    patch((b) => {
      b[17] = 9;
      return b;
    });
    expectErr(/unknown dtype code 9/);
    patch((b) => b.subarray(0, 60));
    expectErr(/header says 2 items and 3 doc_idx entries \(82 bytes\) but the file has 60 bytes/);
    patch((b) => b.subarray(0, 20));
    expectErr(/shorter than the 34-byte/);
    patch((b) => {
      b.writeInt32LE(6, 34);
      return b;
    });
    expectErr(/sizes add up to 9 tokens × 2 bytes = 18 bytes, but .*e\.bin has 16 bytes/);
    patch((b) => {
      b.writeBigInt64LE(12n, 34 + 8 + 8);
      return b;
    });
    expectErr(/pointer of item 1 is 12, expected 10/);
    patch((b) => {
      b.writeBigInt64LE(5n, 82 - 8);
      return b;
    });
    expectErr(/doc_idx must start with 0 and end with 2/);
    good();
    fs.writeFileSync(`${prefix}.bin`, new Uint8Array(14));
    expectErr(/but .*e\.bin has 14 bytes/);
    fs.rmSync(`${prefix}.bin`);
    expectErr(/cannot read .*e\.bin/);
    assert.deepEqual(
      Array.from(idxHeader("uint16", 0, 1).subarray(0, 9)),
      Array.from(Buffer.from("MMIDIDX\0\0", "latin1")),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Dataset.fromTexts: documents end in token 0; histogram and Arrow table describe them", () => {
  const tok = new ByteTokenizer();
  const ds = Dataset.fromTexts(["ab", "c", "hello", "hé"], tok);
  assert.equal(ds.docCount, 4);
  assert.equal(ds.tokenCount, 3 + 2 + 6 + 4);
  assert.deepEqual(Array.from(ds.doc(1)), [0x64, 0]);
  assert.deepEqual(Array.from(ds.slice(2, 3)), [0, 0x64, 0]);
  const h = lengthHistogram(ds, 2);
  assert.equal(h.min, 2);
  assert.equal(h.max, 6);
  assert.deepEqual(h.edges, [2, 5, 8]);
  assert.deepEqual(h.counts, [3, 1]); // lengths 3, 2, 6, 4
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    4,
  );
  const t = datasetTable(ds, { tokenizer: tok, firstTokens: 2, previewChars: 3 });
  assert.equal(t.numRows, 4);
  assert.deepEqual(
    t.schema.fields.map((f) => f.name),
    ["doc", "length", "first_tokens", "preview"],
  );
  const row = t.get(2)!.toJSON();
  assert.equal(row.doc, 2);
  assert.equal(row.length, 6);
  assert.deepEqual(Array.from(row.first_tokens as Iterable<number>), [0x69, 0x66]);
  assert.equal(row.preview, "hel…");
  assert.equal(datasetTable(ds, { offset: 1, limit: 2 }).numRows, 2);
});
