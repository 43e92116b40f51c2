// Reads the golden reference data (outputs of the official RWKV PyTorch code for two tiny models):
// test/golden/data, see its README. RWKV_GOLDEN points at another set of the same layout (v7/, v6/).
// manifest.json lists tensors inside golden.bin with byte offsets (64-byte aligned) and dtypes.
import * as fs from "node:fs";
import * as path from "node:path";

/** dist/test/helpers → the package root. */
const ROOT = path.resolve(__dirname, "..", "..", "..");
export const GOLDEN = path.resolve(process.env.RWKV_GOLDEN ?? path.join(ROOT, "test", "golden", "data"));

export type GoldenArray = Float32Array | Float64Array | Int32Array;
export interface GoldenEntry {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
  nbytes: number;
  desc: string;
}

export class GoldenSet {
  readonly dir: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the manifest's meta is free-form JSON
  readonly manifest: { tensors: GoldenEntry[]; meta: Record<string, any> };
  private readonly bin: Buffer;

  constructor(version: "v7" | "v6") {
    this.dir = path.join(GOLDEN, version);
    this.manifest = JSON.parse(fs.readFileSync(path.join(this.dir, "manifest.json"), "utf8"));
    this.bin = fs.readFileSync(path.join(this.dir, "golden.bin"));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  get meta(): Record<string, any> {
    return this.manifest.meta;
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }
  has(name: string): boolean {
    return this.manifest.tensors.some((t) => t.name === name);
  }
  entry(name: string): GoldenEntry {
    const e = this.manifest.tensors.find((t) => t.name === name);
    if (!e)
      throw new Error(
        `golden tensor ${name} is not in ${this.dir}/manifest.json (the in-repo set keeps what the tests read: ` +
          `add it to scripts/golden/extract.js and re-run that against the full set)`,
      );
    return e;
  }
  get(name: string): GoldenArray {
    const e = this.entry(name);
    const off = this.bin.byteOffset + e.offset;
    switch (e.dtype) {
      case "float32":
        return new Float32Array(this.bin.buffer, off, e.nbytes / 4);
      case "float64":
        return new Float64Array(this.bin.buffer, off, e.nbytes / 8);
      case "int32":
        return new Int32Array(this.bin.buffer, off, e.nbytes / 4);
      default:
        throw new Error(`golden dtype ${e.dtype} not handled`);
    }
  }
  f32(name: string): Float32Array {
    return Float32Array.from(this.get(name) as ArrayLike<number>);
  }
}

/** Max |a-b| over all elements. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Largest element difference relative to the largest element of `want`. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / maxAbs(want);
}
