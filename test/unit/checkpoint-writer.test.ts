// What our .pth writer puts on disk, byte for byte where torch and RWKV-PEFT fix it (docs/spec.md §6),
// and the reader's errors on damaged archives built with the same zip writer.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { CheckpointError, openCheckpoint, writePth } from "../../kernel/runtime/checkpoint";
import { openBytes } from "../../kernel/runtime/checkpoint/file-bytes";
import { pickleTensorDict } from "../../kernel/runtime/checkpoint/pickle-writer";
import { readZipDirectory } from "../../kernel/runtime/checkpoint/zip";
import { ZipWriter } from "../../kernel/runtime/checkpoint/zip-writer";
import { Tensor } from "../../kernel/runtime/tensor";
import { GoldenSet } from "../helpers/golden";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-ckpt-writer-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function zipEntries(file: string) {
  const src = openBytes(file);
  try {
    return { src, entries: readZipDirectory(src, file) };
  } catch (e) {
    src.close();
    throw e;
  }
}

// Pickle opcodes, spelled out so the expected bytes read like docs/spec.md §6.2.
const str = (s: string) => {
  const b = Buffer.from(s, "utf8"),
    n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from("X"), n, b]);
};
const global = (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`, "latin1");
const int = (v: number) =>
  v < 256
    ? Buffer.from([0x4b, v])
    : v < 65536
      ? Buffer.from([0x4d, v & 255, v >> 8])
      : (() => {
          const b = Buffer.alloc(5);
          b[0] = 0x4a;
          b.writeInt32LE(v, 1);
          return b;
        })();
const op = (...codes: number[]) => Buffer.from(codes);
const [PROTO2, EMPTY_DICT, MARK, TUPLE, TUPLE3, BINPERSID, NEWFALSE, EMPTY_TUPLE, REDUCE, SETITEMS, STOP] = [
  op(0x80, 2),
  op(0x7d),
  op(0x28),
  op(0x74),
  op(0x87),
  op(0x51),
  op(0x89),
  op(0x29),
  op(0x52),
  op(0x75),
  op(0x2e),
];

test("a state file's data.pkl is exactly the minimal RWKV-PEFT layout", () => {
  const H = 2,
    N = 4,
    L = 2;
  const file = path.join(tmp, "rwkv-0.pth");
  const tensors: [string, Tensor][] = [];
  for (let l = 0; l < L; l++)
    tensors.push([
      `blocks.${l}.att.time_state`,
      Tensor.fromFloat32(
        Array.from({ length: H * N * N }, (_, i) => i / 8 - l),
        [H, N, N],
        "bf16",
      ),
    ]);
  writePth(file, tensors);
  const parts: Buffer[] = [PROTO2, EMPTY_DICT, MARK];
  for (let l = 0; l < L; l++) {
    parts.push(
      str(`blocks.${l}.att.time_state`),
      global("torch._utils", "_rebuild_tensor_v2"),
      MARK,
      MARK,
      str("storage"),
      global("torch", "BFloat16Storage"),
      str(String(l)),
      str("cpu"),
      int(H * N * N),
      TUPLE,
      BINPERSID,
      int(0),
      int(H),
      int(N),
      int(N),
      TUPLE3,
      int(N * N),
      int(N),
      int(1),
      TUPLE3,
      NEWFALSE,
      global("collections", "OrderedDict"),
      EMPTY_TUPLE,
      REDUCE,
      TUPLE,
      REDUCE,
    );
  }
  parts.push(SETITEMS, STOP);
  const { src, entries } = zipEntries(file);
  const names = [...entries.keys()];
  assert.equal(names[0], "rwkv-0/data.pkl", "data.pkl first, folder = file name without extension");
  assert.ok(names.every((n) => n.startsWith("rwkv-0/")));
  const pkl = entries.get("rwkv-0/data.pkl")!;
  assert.deepEqual(Buffer.from(src.read(pkl.offset, pkl.size)), Buffer.concat(parts));
  const v = entries.get("rwkv-0/version")!;
  assert.equal(Buffer.from(src.read(v.offset, v.size)).toString(), "3\n");
  assert.deepEqual(src.read(entries.get("rwkv-0/data/1")!.offset, H * N * N * 2), tensors[1][1].data);
  src.close();
});

test("zip records as torch writes them: stored, flag 0x0808, 64-byte aligned data, CRC-32, ZIP64 end records", () => {
  const file = path.join(tmp, "aligned.pth");
  writePth(file, [
    ["a", Tensor.fromFloat32([1, 2, 3], [3])],
    ["b", Tensor.fromFloat32([4], [1], "bf16")],
    ["c", Tensor.zeros([0])],
  ]);
  const bytes = fs.readFileSync(file);
  const { src, entries } = zipEntries(file);
  for (const e of entries.values()) {
    assert.equal(e.offset % 64, 0, `${e.name} data is 64-byte aligned`);
    assert.equal(e.method, 0);
  }
  // central directory: flag and CRC of each entry
  let p = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  assert.ok(p > 0);
  for (const e of entries.values()) {
    assert.equal(bytes.readUInt32LE(p), 0x02014b50);
    assert.equal(bytes.readUInt16LE(p + 8), 0x0808, `${e.name} flag`);
    assert.equal(bytes.readUInt32LE(p + 16), zlib.crc32(src.read(e.offset, e.size)), `${e.name} CRC-32`);
    p += 46 + bytes.readUInt16LE(p + 28) + bytes.readUInt16LE(p + 30) + bytes.readUInt16LE(p + 32);
  }
  assert.equal(bytes.readUInt32LE(p), 0x06064b50, "ZIP64 end record follows the central directory");
  assert.equal(bytes.readUInt32LE(p + 56), 0x07064b50, "then the ZIP64 locator");
  assert.equal(bytes.readUInt32LE(p + 76), 0x06054b50, "then the end record");
  src.close();
  assert.equal(fs.readdirSync(tmp).filter((f) => f.includes(".tmp-")).length, 0, "no temporary file left");
});

test("golden PEFT state re-written by us reads back identical; OrderedDict container too", () => {
  for (const v of ["v7", "v6"] as const) {
    const g = openCheckpoint(new GoldenSet(v).file("state_peft_bf16.pth"));
    for (const container of ["dict", "OrderedDict"] as const) {
      const file = path.join(tmp, `${v}-${container}.pth`);
      writePth(
        file,
        g.keys().map((k) => [k, g.read(k)] as [string, Tensor]),
        { container },
      );
      const c = openCheckpoint(file);
      assert.deepEqual(c.keys(), g.keys());
      for (const k of g.keys()) {
        assert.deepEqual(c.entry(k), g.entry(k));
        assert.deepEqual(c.read(k).data, g.read(k).data, k);
      }
      c.close();
    }
    g.close();
  }
});

/** A .pth whose pickle names storages data/0 and data/1, with only the given data entries present. */
function craft(
  name: string,
  pkl: Uint8Array,
  data: Record<string, Uint8Array>,
  version = true,
  zip64From?: number,
): string {
  const file = path.join(tmp, name);
  const fd = fs.openSync(file, "w");
  const zip = new ZipWriter(fd, zip64From);
  zip.add("arch/data.pkl", pkl);
  for (const [k, b] of Object.entries(data)) zip.add(`arch/data/${k}`, b);
  if (version) zip.add("arch/version", Buffer.from("3\n"));
  zip.finish();
  fs.closeSync(fd);
  return file;
}

function throwsCheckpointError(fn: () => unknown, file: string, re: RegExp, key?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.equal(e.file, file);
    if (key) assert.equal(e.key, key);
    assert.match(e.message, re);
    return true;
  });
}

const damaged = "damaged archives: missing data.pkl, missing storage, short storage, unknown storage type";
test(`${damaged}, not a checkpoint`, () => {
  const two = pickleTensorDict(
    [
      { name: "x", dtype: "f32", shape: [2, 3], storageKey: "0" },
      { name: "y", dtype: "bf16", shape: [4], storageKey: "1" },
    ],
    "dict",
  );
  const ok = craft("ok.pth", two, { 0: new Uint8Array(24), 1: new Uint8Array(8) });
  assert.deepEqual(openCheckpoint(ok).keys(), ["x", "y"]);

  const missing = craft("missing.pth", two, { 0: new Uint8Array(24) });
  const m = openCheckpoint(missing);
  assert.equal(m.read("x").numel, 6, "present storage still reads");
  throwsCheckpointError(() => m.read("y"), missing, /data\/1 is missing/, "y");

  const short = craft("short.pth", two, { 0: new Uint8Array(20), 1: new Uint8Array(8) });
  throwsCheckpointError(() => openCheckpoint(short).read("x"), short, /has 20 bytes.*24/, "x");

  const odd = Buffer.from(Buffer.from(two).toString("latin1").replace("BFloat16Storage", "QUInt8Storage"), "latin1");
  const unknown = craft("unknown.pth", odd, { 0: new Uint8Array(24), 1: new Uint8Array(8) });
  throwsCheckpointError(() => openCheckpoint(unknown), unknown, /QUInt8Storage/);

  const noPkl = path.join(tmp, "nopkl.pth");
  const fd = fs.openSync(noPkl, "w");
  const zip = new ZipWriter(fd);
  zip.add("arch/version", Buffer.from("3\n"));
  zip.finish();
  fs.closeSync(fd);
  throwsCheckpointError(() => openCheckpoint(noPkl), noPkl, /no arch\/data\.pkl/);

  const text = path.join(tmp, "notes.txt");
  fs.writeFileSync(text, "this is not a checkpoint at all\n");
  throwsCheckpointError(() => openCheckpoint(text), text, /header length .* runs past the end/);
  const empty = path.join(tmp, "empty.pth");
  fs.writeFileSync(empty, "");
  throwsCheckpointError(() => openCheckpoint(empty), empty, /shorter than/);
});

test("ZIP64 extra fields and end record (forced from byte 0, as a > 4 GiB checkpoint has them) read back", () => {
  const pkl = pickleTensorDict(
    [
      { name: "x", dtype: "f32", shape: [2, 3], storageKey: "0" },
      { name: "y", dtype: "bf16", shape: [4], storageKey: "1" },
    ],
    "OrderedDict",
  );
  const x = Tensor.fromFloat32([1, 2, 3, 4, 5, 6], [2, 3]),
    y = Tensor.fromFloat32([-1, 0.5, 3, 7], [4], "bf16");
  const file = craft("zip64.pth", pkl, { 0: x.data, 1: y.data }, true, 0);
  const bytes = fs.readFileSync(file);
  const eocd = bytes.length - 22;
  assert.equal(bytes.readUInt32LE(eocd + 16), 0xffffffff, "end record defers to the ZIP64 record");
  assert.ok(bytes.includes(Buffer.from([0x01, 0x00, 24, 0x00])), "ZIP64 extra field present");
  const c = openCheckpoint(file);
  assert.deepEqual(c.read("x").data, x.data);
  assert.deepEqual([...c.read("y").toFloat32()], [-1, 0.5, 3, 7]);
});

test("a failed write leaves the existing file untouched and no temporary file", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "atomic-"));
  const file = path.join(dir, "keep.pth");
  writePth(file, [["a", Tensor.fromFloat32([1, 2], [2])]]);
  const before = fs.readFileSync(file);
  assert.throws(
    () =>
      writePth(file, [
        ["a", Tensor.fromFloat32([1, 2], [2])],
        ["b", { dtype: "f32", shape: [3], data: () => new Uint8Array(8) }],
      ]),
    (e: unknown) => e instanceof CheckpointError && e.file === file && e.key === "b" && /needs 12/.test(e.message),
  );
  assert.deepEqual(fs.readFileSync(file), before);
  assert.deepEqual(fs.readdirSync(dir), ["keep.pth"]);
});
