// A tuner checkpoint for resuming: a safetensors file holding the fp32 master state and the Adam
// moments as [L,H,N,N] tensors (and the best state, when one is kept), with everything else in
// `__metadata__` as JSON strings (options, steps, sampler position, history, model dims, base
// checkpoint hash, validation progress), so any safetensors reader can open it. Files of the first
// format ("RWKVTUNE" + u32 JSON length + JSON + the three arrays) are still read.
import * as fs from "node:fs";
import { openCheckpoint, writeSafetensors, type Checkpoint } from "../checkpoint";
import type { SamplerState } from "../data/samplers";
import { TunerCheckpointError } from "../errors";
import { checkWritableFolder } from "../files";
import type { StateDims } from "../model/config";
import { Tensor } from "../tensor";
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

const FORMAT = "rwkv-notebook tuner checkpoint";
const TENSORS = { master: "master_state", m: "adam_m", v: "adam_v" } as const;
const BEST_TENSOR = "best_state";
const JSON_FIELDS = ["options", "steps", "sampler", "history", "dims"] as const;
const OPTIONAL_JSON = "progress";
const LEGACY_MAGIC = "RWKVTUNE";

export async function writeTunerCheckpoint(
  file: string,
  meta: TunerCheckpointMeta,
  arrays: TunerArrays,
): Promise<void> {
  checkWritableFolder(file);
  const { nLayer, nEmbd, nHead, headSize } = meta.dims;
  const shape = [nLayer, nHead, headSize, headSize];
  const metadata: Record<string, string> = { format: FORMAT, version: "2", base_sha256: meta.baseSha256 };
  for (const k of JSON_FIELDS)
    metadata[k] = JSON.stringify(k === "dims" ? { nLayer, nEmbd, nHead, headSize } : meta[k]);
  if (meta.progress) metadata[OPTIONAL_JSON] = JSON.stringify(meta.progress);
  const tensors = Object.fromEntries(
    (Object.keys(TENSORS) as (keyof typeof TENSORS)[]).map((k) => [TENSORS[k], Tensor.fromFloat32(arrays[k], shape)]),
  );
  if (arrays.best) tensors[BEST_TENSOR] = Tensor.fromFloat32(arrays.best, shape);
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

function readSafetensorsCheckpoint(file: string): { meta: TunerCheckpointMeta; arrays: TunerArrays } {
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
    const meta = Object.fromEntries(JSON_FIELDS.map((k) => [k, field(k)])) as Omit<TunerCheckpointMeta, "baseSha256">;
    if (ckpt.metadata[OPTIONAL_JSON] !== undefined)
      meta.progress = field(OPTIONAL_JSON) as TunerCheckpointMeta["progress"];
    const f32 = (name: string): Float32Array => {
      const t = ckpt.read(name);
      if (t.dtype !== "f32") throw new TunerCheckpointError(`${file}: ${name} is ${t.dtype}, expected f32`, file);
      return Float32Array.from(t.toFloat32());
    };
    const arrays = {} as TunerArrays;
    for (const k of Object.keys(TENSORS) as (keyof typeof TENSORS)[]) arrays[k] = f32(TENSORS[k]);
    if (ckpt.keys().includes(BEST_TENSOR)) arrays.best = f32(BEST_TENSOR);
    return { meta: { ...meta, baseSha256: ckpt.metadata.base_sha256 ?? "" }, arrays };
  } finally {
    ckpt.close();
  }
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
