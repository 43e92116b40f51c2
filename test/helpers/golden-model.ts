// Builds a native model (the addon's createModel) from a golden checkpoint (test/golden/data/v{6,7}/*.pth)
// through the TypeScript checkpoint reader, with the configuration from the golden manifest.
// Tests call `goldenModelSkip()` first: it names what is missing (the addon).
import { openCheckpoint } from "../../kernel/runtime/checkpoint";
import {
  native,
  type NativeAddon,
  type NativeDType,
  type NativeModel,
  type NativeTensor,
} from "../../kernel/runtime/native";
import type { ModelDims } from "../../kernel/runtime/model/dims";
import { GoldenSet } from "./golden";

function addon(): NativeAddon | undefined {
  try {
    const a = native();
    return typeof a.createModel === "function" ? a : undefined;
  } catch {
    return undefined;
  }
}

/** false when a golden model can be built, else the reason to skip. */
export function goldenModelSkip(): string | false {
  if (!addon()) return "the native addon (with createModel) is not built";
  return false;
}

const NATIVE_DTYPES: readonly string[] = ["f32", "bf16", "f16"] satisfies NativeDType[];

export function goldenConfig(g: GoldenSet): Omit<ModelDims, "lora"> {
  const m = g.meta;
  return {
    version: m.version === "x060" ? 6 : 7,
    nLayer: m.n_layer,
    nEmbd: m.n_embd,
    nHead: m.n_head,
    headSize: m.head_size,
    vocabSize: m.vocab_size,
    dimFfn: m.dim_ffn,
  };
}

/** Every tensor of a golden checkpoint as addon tensors (copied out, so the reader can be closed). */
export function goldenTensors(g: GoldenSet, file: string): Record<string, NativeTensor> {
  return checkpointTensors(g.file(file));
}

/** Every tensor of a checkpoint file as addon tensors (copied out, so the reader can be closed). */
export function checkpointTensors(file: string): Record<string, NativeTensor> {
  const ckpt = openCheckpoint(file);
  try {
    const out: Record<string, NativeTensor> = {};
    for (const name of ckpt.keys()) {
      const t = ckpt.read(name);
      if (!NATIVE_DTYPES.includes(t.dtype))
        throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}, not f32/bf16/f16`);
      out[name] = { dtype: t.dtype as NativeDType, shape: [...t.shape], data: Uint8Array.from(t.data) };
    }
    return out;
  } finally {
    ckpt.close();
  }
}

export function goldenModel(g: GoldenSet, file: string): NativeModel {
  return addon()!.createModel(goldenConfig(g), goldenTensors(g, file));
}
