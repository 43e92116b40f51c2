// Damaged files never crash the reader with anything but a CheckpointError, and the pickle
// forms real files use beyond our own writer's (LONG1 ints, memo ops, _metadata BUILD) read right.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CheckpointError, openCheckpoint, writeSafetensors } from "../../kernel/runtime/checkpoint";
import { unpickle, type TensorRef } from "../../kernel/runtime/checkpoint/pickle";
import { Tensor } from "../../kernel/runtime/tensor";
import { GoldenSet } from "../helpers/golden";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-ckpt-fuzz-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff);
}

/** Flips a few bytes `rounds` times; every open/read either works or throws CheckpointError. */
function survives(original: Buffer, file: string, rounds: number): number {
  const r = lcg(17);
  let errors = 0;
  for (let i = 0; i < rounds; i++) {
    const b = Buffer.from(original);
    for (let j = 0; j < 1 + (r() % 4); j++) b[r() % b.length] = r() & 255;
    fs.writeFileSync(file, b);
    try {
      const c = openCheckpoint(file);
      for (const k of c.keys()) c.read(k).toFloat32();
      c.close();
    } catch (e) {
      if (!(e instanceof CheckpointError)) assert.fail(`round ${i}: ${(e as Error).stack}`);
      errors++;
    }
  }
  return errors;
}

test("flipped bytes in a .pth and a .safetensors give CheckpointError or a valid read", () => {
  const pth = fs.readFileSync(new GoldenSet("v7").file("state_peft_bf16.pth"));
  assert.ok(survives(pth, path.join(tmp, "f.pth"), 400) > 0, "some damage is detected");
  const st = path.join(tmp, "ok.safetensors");
  writeSafetensors(
    st,
    { a: Tensor.fromFloat32([1, 2, 3], [3]), b: Tensor.fromFloat32([4, 5], [2, 1], "bf16") },
    { note: "x" },
  );
  assert.ok(survives(fs.readFileSync(st), path.join(tmp, "f.safetensors"), 400) > 0);
});

test("pickle: LONG1 sizes, memo ops and a BUILD of _metadata read right", () => {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const str = (s: string) => Buffer.concat([Buffer.from([0x58]), u32(s.length), Buffer.from(s)]);
  const g = (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`);
  const long1 = (v: bigint) => {
    const bytes: number[] = [];
    for (let x = v; x > 0n; x >>= 8n) bytes.push(Number(x & 255n));
    bytes.push(0);
    return Buffer.from([0x8a, bytes.length, ...bytes]);
  };
  const big = 3n * 2n ** 31n; // past BININT: torch writes LONG1
  const pkl = Buffer.concat([
    Buffer.from([0x80, 2]),
    g("collections", "OrderedDict"),
    Buffer.from([0x71, 0, 0x29, 0x52, 0x71, 1, 0x28]),
    str("w"),
    g("torch._utils", "_rebuild_tensor_v2"),
    Buffer.from([0x28, 0x28]),
    str("storage"),
    g("torch", "HalfStorage"),
    str("0"),
    str("cuda:0"),
    long1(big),
    Buffer.from([0x74, 0x51]),
    long1(big - 4n),
    Buffer.from([0x4b, 2, 0x4b, 2, 0x86, 0x4b, 2, 0x4b, 1, 0x86, 0x89]),
    Buffer.from([0x68, 0, 0x29, 0x52, 0x74, 0x52, 0x75]),
    Buffer.from([0x7d, 0x28]),
    str("_metadata"),
    Buffer.from([0x68, 0, 0x29, 0x52, 0x75, 0x62, 0x2e]),
  ]);
  const root = unpickle(pkl, "big.pth") as Map<string, TensorRef>;
  assert.deepEqual([...root.keys()], ["w"]);
  const w = root.get("w")!;
  assert.deepEqual(
    [w.storage.dtype, w.storage.numel, w.storage.location, w.offset, w.shape, w.stride],
    ["f16", Number(big), "cuda:0", Number(big - 4n), [2, 2], [2, 1]],
  );
  assert.throws(
    () => unpickle(Buffer.concat([Buffer.from([0x80, 2]), g("os", "system"), Buffer.from([0x2e])]), "evil.pth"),
    (e: unknown) => e instanceof CheckpointError && /evil\.pth: .*global os\.system/.test(e.message),
  );
});
