// State files as RWKV-PEFT writes them (docs/spec.md §4.1): a plain dict of `blocks.{l}.att.time_state`
// [H,N,N] ([head][value][key]) in layer order, bf16 by default. Safetensors files carry
// provenance metadata. Mounting one sets wkv = file and zero token shifts.
import * as fs from "node:fs";
import { timeStateKey, timeStateLayer, type StateDims } from "../model/config";
import { checkWritableFolder } from "../files";
import { openCheckpoint, writePth, writeSafetensors, type TensorSource } from "../checkpoint";
import { Tensor } from "../tensor";
import { checkOptions, is, type Spec } from "../check";
import { StateFileError } from "../errors";

export type StateFileFormat = "pth" | "safetensors";
export interface StateSaveOptions {
  /** By extension when omitted: .st / .safetensors → safetensors, else pth. */
  format?: StateFileFormat;
  dtype?: "bf16" | "f32";
  /** safetensors only: metadata strings stored with the state (model version, dims, base hash, steps, loss...). */
  provenance?: Record<string, string | number>;
}

export const SAVE_OPTIONS: Spec = {
  format: is.oneOf("pth", "safetensors"),
  dtype: is.oneOf("bf16", "f32"),
  provenance: is.recordOf(is.either(is.string, is.number()), "strings or numbers"),
};

export function formatFor(file: string, format?: StateFileFormat): StateFileFormat {
  return format ?? (/\.(st|safetensors)$/i.test(file) ? "safetensors" : "pth");
}

/** The per-layer time_state tensors of a state (or any [L,H,N,N] wkv array). */
export function timeStateTensors(
  dims: StateDims,
  wkv: Float32Array,
  dtype: "bf16" | "f32" = "bf16",
): Record<string, TensorSource> {
  checkOptions("timeStateTensors", { dtype }, SAVE_OPTIONS);
  const { nLayer: L, nHead: H, headSize: N } = dims;
  const per = H * N * N;
  const out: Record<string, TensorSource> = {};
  for (let l = 0; l < L; l++) {
    const s = wkv.slice(l * per, (l + 1) * per);
    out[timeStateKey(l)] = Tensor.fromFloat32(s, [H, N, N], dtype);
  }
  return out;
}

/** Writes a .pth or safetensors file (the writers go through a temporary name and rename). */
export function writeTensors(
  file: string,
  tensors: Record<string, TensorSource>,
  format: StateFileFormat,
  metadata: Record<string, string> = {},
): void {
  checkWritableFolder(file);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new StateFileError(`${file} is a folder, not a file name`, file);
  try {
    if (format === "safetensors") writeSafetensors(file, tensors, metadata);
    else writePth(file, tensors);
  } catch (e) {
    throw new StateFileError(`could not write ${file}: ${(e as Error).message}`, file);
  }
}

/** Writes a state's wkv as a state file (State.save). */
export async function saveStateFile(
  state: StateDims & { wkv: Float32Array },
  file: string,
  opts: StateSaveOptions = {},
): Promise<void> {
  checkOptions("State.save", opts, SAVE_OPTIONS);
  const format = formatFor(file, opts.format);
  const metadata: Record<string, string> = {};
  if (format === "safetensors") {
    metadata.format = "rwkv-notebook state";
    metadata.layout = "blocks.{l}.att.time_state [H,N,N] = [head][value][key]";
    const { nLayer, nEmbd, nHead, headSize } = state;
    metadata.dims = JSON.stringify({ nLayer, nEmbd, nHead, headSize });
    for (const [k, v] of Object.entries(opts.provenance ?? {})) metadata[k] = String(v);
  }
  writeTensors(file, timeStateTensors(state, state.wkv, opts.dtype ?? "bf16"), format, metadata);
}

/** Reads the time_state of every layer as f32 [L,H,N,N]; names the first key or shape that does not fit. */
export function readTimeStates(dims: StateDims, file: string, opts: { allowOtherKeys?: boolean } = {}): Float32Array {
  if (!fs.existsSync(file)) throw new StateFileError(`state file ${file} does not exist`, file);
  const { nLayer: L, nHead: H, headSize: N } = dims;
  const reader = openCheckpoint(file);
  try {
    const keys = [...reader.keys()];
    const states = keys.filter((k) => timeStateLayer(k) !== undefined);
    if (states.length === 0)
      throw new StateFileError(
        `${file} has no blocks.{l}.att.time_state keys ` +
          `(keys: ${keys.slice(0, 5).join(", ")}${keys.length > 5 ? ", ..." : ""})`,
        file,
      );
    if (!opts.allowOtherKeys) {
      const other = keys.find((k) => timeStateLayer(k) === undefined);
      if (other) throw new StateFileError(`${file}: unexpected key '${other}' in a state file`, file, other);
    }
    if (states.length !== L)
      throw new StateFileError(`${file}: the state has ${states.length} layers, the model has ${L}`, file);
    const per = H * N * N;
    const wkv = new Float32Array(L * per);
    for (let l = 0; l < L; l++) {
      const key = timeStateKey(l);
      if (!states.includes(key)) throw new StateFileError(`${file}: key ${key} is missing`, file, key);
      const t = reader.read(key);
      if (t.dtype !== "f32" && t.dtype !== "bf16" && t.dtype !== "f16")
        throw new StateFileError(`${file}: ${key} has dtype ${t.dtype}; expected bf16, f16 or f32`, file, key);
      const shape = t.shape.join(",");
      if (t.shape.length !== 3 || t.shape[0] !== H || t.shape[1] !== N || t.shape[2] !== N) {
        const what =
          t.shape.length === 3 && t.shape[0] !== H
            ? `heads ${t.shape[0]} vs the model's ${H}`
            : `head size ${t.shape[t.shape.length - 1]} vs the model's ${N}`;
        throw new StateFileError(
          `${file}: ${key} has shape [${shape}], the model needs [${H},${N},${N}] (${what})`,
          file,
          key,
        );
      }
      wkv.set(t.toFloat32(), l * per);
    }
    return wkv;
  } finally {
    reader.close();
  }
}
