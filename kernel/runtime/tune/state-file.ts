// State files as RWKV-PEFT writes them (docs/spec.md §4.1): a plain dict of `blocks.{l}.att.time_state`
// [H,N,N] ([head][value][key]) in layer order, bf16 by default. Safetensors files carry
// provenance metadata. Mounting one sets wkv = file and zero token shifts.
import * as fs from "node:fs";
import { State, type StateDims, type StateSaveOptions, type StateFileFormat } from "../model/state";
import { checkWritableFolder } from "../data/atomic-files";
import { openCheckpoint, writePth, writeSafetensors, type TensorSource } from "../checkpoint";
import { Tensor } from "../tensor";

export const timeStateKey = (l: number): string => `blocks.${l}.att.time_state`;

export function formatFor(file: string, format?: StateFileFormat): StateFileFormat {
  if (format) {
    if (format !== "pth" && format !== "safetensors")
      throw new Error(`unknown state file format '${format as string}' (pth or safetensors)`);
    return format;
  }
  return /\.(st|safetensors)$/i.test(file) ? "safetensors" : "pth";
}

/** The per-layer time_state tensors of a state (or any [L,H,N,N] wkv array). */
export function timeStateTensors(
  dims: StateDims,
  wkv: Float32Array,
  dtype: "bf16" | "f32" = "bf16",
): Record<string, TensorSource> {
  if (dtype !== "bf16" && dtype !== "f32")
    throw new Error(`state dtype must be "bf16" or "f32", got '${dtype as string}'`);
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
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${file} is a folder, not a file name`);
  try {
    if (format === "safetensors") writeSafetensors(file, tensors, metadata);
    else writePth(file, tensors);
  } catch (e) {
    throw new Error(`could not write ${file}: ${(e as Error).message}`);
  }
}

export async function saveStateFile(state: State, file: string, opts: StateSaveOptions = {}): Promise<void> {
  const format = formatFor(file, opts.format);
  const metadata: Record<string, string> = {};
  if (format === "safetensors") {
    metadata.format = "rwkv-notebook state";
    metadata.layout = "blocks.{l}.att.time_state [H,N,N] = [head][value][key]";
    metadata.dims = JSON.stringify(state.dims);
    for (const [k, v] of Object.entries(opts.provenance ?? {})) metadata[k] = String(v);
  }
  writeTensors(file, timeStateTensors(state.dims, state.wkv, opts.dtype ?? "bf16"), format, metadata);
}

/** Reads the time_state of every layer as f32 [L,H,N,N]; names the first key or shape that does not fit. */
export function readTimeStates(dims: StateDims, file: string, opts: { allowOtherKeys?: boolean } = {}): Float32Array {
  if (!fs.existsSync(file)) throw new Error(`state file ${file} does not exist`);
  const { nLayer: L, nHead: H, headSize: N } = dims;
  const reader = openCheckpoint(file);
  try {
    const keys = [...reader.keys()];
    const states = keys.filter((k) => /\.time_state$/.test(k));
    if (states.length === 0)
      throw new Error(
        `${file} has no blocks.{l}.att.time_state keys (keys: ${keys.slice(0, 5).join(", ")}${keys.length > 5 ? ", ..." : ""})`,
      );
    if (!opts.allowOtherKeys) {
      const other = keys.find((k) => !/\.time_state$/.test(k));
      if (other) throw new Error(`${file}: unexpected key '${other}' in a state file`);
    }
    if (states.length !== L) throw new Error(`${file}: the state has ${states.length} layers, the model has ${L}`);
    const per = H * N * N;
    const wkv = new Float32Array(L * per);
    for (let l = 0; l < L; l++) {
      const key = timeStateKey(l);
      if (!states.includes(key)) throw new Error(`${file}: key ${key} is missing`);
      const t = reader.read(key);
      if (t.dtype !== "f32" && t.dtype !== "bf16" && t.dtype !== "f16")
        throw new Error(`${file}: ${key} has dtype ${t.dtype}; expected bf16, f16 or f32`);
      const shape = t.shape.join(",");
      if (t.shape.length !== 3 || t.shape[0] !== H || t.shape[1] !== N || t.shape[2] !== N) {
        const what =
          t.shape.length === 3 && t.shape[0] !== H
            ? `heads ${t.shape[0]} vs the model's ${H}`
            : `head size ${t.shape[t.shape.length - 1]} vs the model's ${N}`;
        throw new Error(`${file}: ${key} has shape [${shape}], the model needs [${H},${N},${N}] (${what})`);
      }
      wkv.set(t.toFloat32(), l * per);
    }
    return wkv;
  } finally {
    reader.close();
  }
}

export function loadStateFile(dims: StateDims, file: string): State {
  return new State(dims, { wkv: readTimeStates(dims, file) });
}
