// The state over training: every `every` steps the tuner keeps a copy of its state, with the Adam
// moments and the sampler position of that moment so that a branch from it continues exactly as the
// run did. Memory is bounded twice: beyond `memoryMB` the oldest copies move to files in a private
// temporary folder (read back on demand), and beyond `keep` copies every second one of the older
// half is dropped (the first and the newest stay), so recent steps stay dense and old ones thin out.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SamplerState } from "../data/samplers";
import { writeFileAtomic } from "../files";
import { native } from "../native";

/** What one kept step holds: the state [L,H,N,N] and the Adam moments of the same shape. */
export interface SnapshotArrays {
  state: Float32Array;
  m: Float32Array;
  v: Float32Array;
}
/** A kept step without its arrays. */
export interface SnapshotInfo {
  step: number;
  /** Where the sampler stood after this step (a branch on the same data continues from there). */
  sampler: SamplerState;
}
export interface SnapshotPolicy {
  /** Keep a snapshot every this many steps (0: only the first and what a checkpoint brings). */
  every: number;
  /** At most this many snapshots; older ones are thinned beyond it. */
  keep: number;
  /** Snapshots beyond this many MiB move to disk, oldest first. */
  memoryMB: number;
}

interface Entry extends SnapshotInfo {
  arrays?: SnapshotArrays;
  file?: string;
}

/** A copy on recycled memory: a kept step copies three state-sized arrays, whose fresh pages would fault. */
function copyOf(a: Float32Array): Float32Array {
  const c = native().outputFloat32(a.length);
  c.set(a);
  return c;
}
const copyArrays = (a: SnapshotArrays): SnapshotArrays => ({ state: copyOf(a.state), m: copyOf(a.m), v: copyOf(a.v) });

/** Temporary folders of live stores; removed when their store is collected or the process exits. */
const folders = new Set<string>();
const removeFolder = (dir: string): void => {
  folders.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
};
const collected = new FinalizationRegistry<string>(removeFolder);
let exitHook = false;

/** A snapshot policy's defaults for a run of `totalSteps`: about 100 snapshots, 256 MiB in memory. */
export function defaultSnapshotPolicy(totalSteps: number): SnapshotPolicy {
  return { every: Math.max(1, Math.ceil(totalSteps / 100)), keep: 100, memoryMB: 256 };
}

export class SnapshotStore {
  private entries: Entry[] = [];
  private dir?: string;
  private inMemory = 0;

  /** `size`: numbers in each array (L·H·N·N). */
  constructor(
    readonly size: number,
    readonly policy: SnapshotPolicy,
  ) {}

  /** Kept steps, ascending. */
  get steps(): number[] {
    return this.entries.map((e) => e.step);
  }
  get count(): number {
    return this.entries.length;
  }
  /** Bytes held in memory by the kept snapshots. */
  get memoryBytes(): number {
    return this.inMemory * this.bytesEach;
  }
  private get bytesEach(): number {
    return 3 * 4 * this.size;
  }

  has(step: number): boolean {
    return this.entries.some((e) => e.step === step);
  }
  info(step: number): SnapshotInfo | undefined {
    const e = this.entries.find((x) => x.step === step);
    return e && { step: e.step, sampler: e.sampler };
  }

  /** Called after each step: keeps a copy when the policy says so. */
  onStep(step: number, arrays: SnapshotArrays, sampler: SamplerState): void {
    if (this.policy.every > 0 && step % this.policy.every === 0) this.add({ step, sampler }, arrays);
  }

  /** Keeps a copy of `arrays` as step `info.step` (replacing one of the same step), then applies the bounds. */
  add(info: SnapshotInfo, arrays: SnapshotArrays): void {
    for (const a of [arrays.state, arrays.m, arrays.v])
      if (a.length !== this.size)
        throw new RangeError(`a snapshot array has ${a.length} numbers, expected ${this.size}`);
    this.remove(info.step);
    const e: Entry = {
      step: info.step,
      sampler: { ...info.sampler },
      arrays: copyArrays(arrays),
    };
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].step > e.step) i--;
    this.entries.splice(i, 0, e);
    this.inMemory++;
    this.thin();
    this.spill();
  }

  /** The arrays of a kept step (copies), read back from disk when it was moved there. */
  read(step: number): SnapshotArrays {
    const e = this.entries.find((x) => x.step === step);
    if (!e) throw new RangeError(`step ${step} is not kept`);
    if (e.arrays) return copyArrays(e.arrays);
    const buf = fs.readFileSync(e.file!);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const n = this.size;
    return { state: all.slice(0, n), m: all.slice(n, 2 * n), v: all.slice(2 * n, 3 * n) };
  }

  /** Drops every snapshot (and its file). */
  clear(): void {
    for (const e of this.entries) if (e.file) fs.rmSync(e.file, { force: true });
    this.entries = [];
    this.inMemory = 0;
  }

  private remove(step: number): void {
    const i = this.entries.findIndex((e) => e.step === step);
    if (i < 0) return;
    const [e] = this.entries.splice(i, 1);
    if (e.arrays) this.inMemory--;
    if (e.file) fs.rmSync(e.file, { force: true });
  }

  /** Beyond `keep`: drop entries 1, 3, 5, ... of the older half until within bounds (never the first or newest). */
  private thin(): void {
    const keep = Math.max(2, this.policy.keep);
    while (this.entries.length > keep) {
      const half = Math.max(2, Math.floor(this.entries.length / 2));
      const drop = this.entries.filter((_, i) => i % 2 === 1 && i < half).map((e) => e.step);
      for (const s of drop) this.remove(s);
    }
  }

  /** Beyond `memoryMB`: move the oldest in-memory snapshots (never the newest) to disk. */
  private spill(): void {
    const budget = this.policy.memoryMB * 2 ** 20;
    for (const e of this.entries.slice(0, -1)) {
      if (this.memoryBytes <= budget) return;
      if (!e.arrays) continue;
      const file = path.join(this.folder(), `step-${e.step}.f32`);
      const { state, m, v } = e.arrays;
      writeFileAtomic(file, (fd) => {
        for (const a of [state, m, v]) fs.writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      });
      e.file = file;
      e.arrays = undefined;
      this.inMemory--;
    }
  }

  private folder(): string {
    if (this.dir) return this.dir;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-snapshots-"));
    folders.add(this.dir);
    collected.register(this, this.dir);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => [...folders].forEach(removeFolder));
    }
    return this.dir;
  }
}
