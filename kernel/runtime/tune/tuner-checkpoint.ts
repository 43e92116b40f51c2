// A tuner checkpoint for resuming: a safetensors file holding the fp32 master state and the Adam
// moments as [L,H,N,N] tensors (and the best state, when one is kept), with everything else in
// `__metadata__` as JSON strings (options, steps, sampler position, history, model dims, base
// checkpoint hash, validation progress), so any safetensors reader can open it. Kept snapshots of the
// state over training (snapshots.ts) travel as `snapshot.{step}.state|adam_m|adam_v` tensors with their
// steps and sampler positions in the `snapshots` metadata key. Files of the first format
// ("RWKVTUNE" + u32 JSON length + JSON + the three arrays) are still read.
import * as fs from "node:fs";
import { openCheckpoint, writeSafetensors, type Checkpoint, type TensorSource } from "../checkpoint";
import type { SamplerState } from "../data/samplers";
import { TunerCheckpointError } from "../errors";
import { checkWritableFolder } from "../files";
import type { StateDims } from "../model/config";
import { Tensor } from "../tensor";
import type { SnapshotArrays, SnapshotInfo } from "./snapshots";
import type { StepRecord, TunerOptions } from "./types";

/** The options a checkpoint keeps: all but the initial state and the validation data (its numbers stay). */
export type SavedTunerOptions = Omit<TunerOptions, "initState" | "initPrompt" | "validation"> & {
  validationEvery?: number;
  validationSamples?: number;
};
export interface TunerCheckpointMeta {
  options: SavedTunerOptions;
  steps: number;
  sampler: SamplerState;
  history: StepRecord[];
  dims: StateDims;
  baseSha256: string;
  /** Validation progress: the best loss so far, validations since it, an early stop (absent in older files). */
  progress?: {
    best?: { step: number; loss: number };
    stale: number;
    stopped?: { step: number; reason: string };
  };
}
export interface TunerArrays {
  master: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** The best state (keepBest). */
  best?: Float32Array;
}
/** The kept snapshots of a run: their steps and sampler positions, and a reader of each one's arrays. */
export interface SnapshotSource {
  infos: SnapshotInfo[];
  read(step: number): SnapshotArrays;
}

const FORMAT = "rwkv-notebook tuner checkpoint";
const TENSORS = { master: "master_state", m: "adam_m", v: "adam_v" } as const;
const BEST_TENSOR = "best_state";
const JSON_FIELDS = ["options", "steps", "sampler", "history", "dims"] as const;
const OPTIONAL_JSON = "progress";
const LEGACY_MAGIC = "RWKVTUNE";
const SNAPSHOT_PARTS = { state: "state", m: "adam_m", v: "adam_v" } as const;
const snapshotKey = (step: number, part: keyof SnapshotArrays): string => `snapshot.${step}.${SNAPSHOT_PARTS[part]}`;

export async function writeTunerCheckpoint(
  file: string,
  meta: TunerCheckpointMeta,
  arrays: TunerArrays,
  snapshots?: SnapshotSource,
): Promise<void> {
  checkWritableFolder(file);
  const { nLayer, nEmbd, nHead, headSize } = meta.dims;
  const shape = [nLayer, nHead, headSize, headSize];
  const metadata: Record<string, string> = { format: FORMAT, version: "2", base_sha256: meta.baseSha256 };
  for (const k of JSON_FIELDS)
    metadata[k] = JSON.stringify(k === "dims" ? { nLayer, nEmbd, nHead, headSize } : meta[k]);
  if (meta.progress) metadata[OPTIONAL_JSON] = JSON.stringify(meta.progress);
  const tensors: Record<string, TensorSource> = Object.fromEntries(
    (Object.keys(TENSORS) as (keyof typeof TENSORS)[]).map((k) => [TENSORS[k], Tensor.fromFloat32(arrays[k], shape)]),
  );
  if (arrays.best) tensors[BEST_TENSOR] = Tensor.fromFloat32(arrays.best, shape);
  if (snapshots && snapshots.infos.length > 0) {
    metadata.snapshots = JSON.stringify(snapshots.infos);
    // Each snapshot is read once (it may live on disk) when the writer reaches its first tensor.
    let last: { step: number; arrays: SnapshotArrays } | undefined;
    const part = (step: number, p: keyof SnapshotArrays) => (): Uint8Array => {
      if (last?.step !== step) last = { step, arrays: snapshots.read(step) };
      const a = last.arrays[p];
      return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    };
    for (const { step } of snapshots.infos)
      for (const p of Object.keys(SNAPSHOT_PARTS) as (keyof SnapshotArrays)[])
        tensors[snapshotKey(step, p)] = { dtype: "f32", shape, data: part(step, p) };
  }
  try {
    writeSafetensors(file, tensors, metadata);
  } catch (e) {
    throw new TunerCheckpointError(`could not write tuner checkpoint ${file}: ${(e as Error).message}`, file);
  }
}

export function readTunerCheckpoint(file: string): { meta: TunerCheckpointMeta; arrays: TunerArrays } {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, "r");
    try {
      head = Buffer.alloc(8);
      fs.readSync(fd, head, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new TunerCheckpointError(`cannot read tuner checkpoint ${file}: ${(e as Error).message}`, file);
  }
  const { meta, arrays } =
    head.toString("latin1") === LEGACY_MAGIC ? readLegacy(file) : readSafetensorsCheckpoint(file);
  if (arrays.master.length !== arrays.m.length || arrays.m.length !== arrays.v.length)
    throw new TunerCheckpointError(`${file}: state and moment sizes differ`, file);
  return { meta, arrays };
}

/** An opened tuner checkpoint (safetensors format) with its JSON metadata fields and f32 tensors. */
function withCheckpoint<T>(
  file: string,
  use: (field: (k: string) => unknown, f32: (key: string) => Float32Array, ckpt: Checkpoint) => T,
): T {
  let ckpt: Checkpoint;
  try {
    ckpt = openCheckpoint(file);
  } catch (e) {
    throw new TunerCheckpointError(`${file} is not a tuner checkpoint: ${(e as Error).message}`, file);
  }
  try {
    if (ckpt.metadata.format !== FORMAT)
      throw new TunerCheckpointError(
        `${file} is not a tuner checkpoint (its metadata has no format "${FORMAT}")`,
        file,
      );
    const field = (k: string): unknown => {
      const text = ckpt.metadata[k];
      if (text === undefined) throw new TunerCheckpointError(`${file}: metadata key ${k} is missing`, file);
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new TunerCheckpointError(`${file}: metadata key ${k} is not JSON: ${(e as Error).message}`, file);
      }
    };
    const f32 = (key: string): Float32Array => {
      if (!ckpt.has(key)) throw new TunerCheckpointError(`${file}: tensor ${key} is missing`, file);
      const t = ckpt.read(key);
      if (t.dtype !== "f32") throw new TunerCheckpointError(`${file}: ${key} is ${t.dtype}, expected f32`, file);
      return Float32Array.from(t.toFloat32());
    };
    return use(field, f32, ckpt);
  } finally {
    ckpt.close();
  }
}

function readSafetensorsCheckpoint(file: string): { meta: TunerCheckpointMeta; arrays: TunerArrays } {
  return withCheckpoint(file, (field, f32, ckpt) => {
    const meta = Object.fromEntries(JSON_FIELDS.map((k) => [k, field(k)])) as Omit<TunerCheckpointMeta, "baseSha256">;
    if (ckpt.metadata[OPTIONAL_JSON] !== undefined)
      meta.progress = field(OPTIONAL_JSON) as TunerCheckpointMeta["progress"];
    const arrays = {} as TunerArrays;
    for (const k of Object.keys(TENSORS) as (keyof typeof TENSORS)[]) arrays[k] = f32(TENSORS[k]);
    if (ckpt.has(BEST_TENSOR)) arrays.best = f32(BEST_TENSOR);
    return { meta: { ...meta, baseSha256: ckpt.metadata.base_sha256 ?? "" }, arrays };
  });
}

/** Hands each kept snapshot of a checkpoint to `sink`, in step order, one at a time (none in older files). */
export function readCheckpointSnapshots(
  file: string,
  sink: (info: SnapshotInfo, arrays: SnapshotArrays) => void,
): void {
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, head, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head.toString("latin1") === LEGACY_MAGIC) return;
  withCheckpoint(file, (field, f32, ckpt) => {
    if (ckpt.metadata.snapshots === undefined) return;
    const infos = field("snapshots") as SnapshotInfo[];
    const ok = (i: SnapshotInfo) => Number.isInteger(i?.step) && typeof i.sampler === "object" && i.sampler !== null;
    if (!Array.isArray(infos) || !infos.every(ok))
      throw new TunerCheckpointError(`${file}: metadata key snapshots is not a list of {step, sampler}`, file);
    for (const info of infos) {
      const part = (p: keyof SnapshotArrays) => f32(snapshotKey(info.step, p));
      sink(info, { state: part("state"), m: part("m"), v: part("v") });
    }
  });
}

/** The first format: "RWKVTUNE", u32 JSON length, JSON (meta + array lengths), master, m, v. */
function readLegacy(file: string): { meta: TunerCheckpointMeta; arrays: TunerArrays } {
  const buf = fs.readFileSync(file);
  if (buf.length < 12) throw new TunerCheckpointError(`${file}: truncated header`, file);
  const jlen = buf.readUInt32LE(8);
  if (12 + jlen > buf.length) throw new TunerCheckpointError(`${file}: truncated header`, file);
  let meta: TunerCheckpointMeta & { lengths: number[] };
  try {
    meta = JSON.parse(buf.toString("utf8", 12, 12 + jlen)) as TunerCheckpointMeta & { lengths: number[] };
  } catch (e) {
    throw new TunerCheckpointError(`${file}: bad header JSON: ${(e as Error).message}`, file);
  }
  let off = 12 + jlen;
  const arrays = {} as TunerArrays;
  (["master", "m", "v"] as const).forEach((n, i) => {
    const len = meta.lengths?.[i];
    if (!Number.isInteger(len) || off + 4 * len > buf.length)
      throw new TunerCheckpointError(`${file}: array ${n} is truncated`, file);
    arrays[n] = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * len));
    off += 4 * len;
  });
  return { meta, arrays };
}
