// Builds a native model (the addon's createModel) from a golden checkpoint (shared/golden/v{6,7}/*.pth)
// through the TypeScript checkpoint reader, with the configuration from the golden manifest.
// Tests call `goldenModelSkip(version)` first: it names what is missing (addon, golden data, reader).
import * as path from "node:path";
import { native, type NativeAddon, type NativeConfig, type NativeDType, type NativeModel, type NativeTensor } from "../../kernel/runtime/native";
import { GoldenSet, goldenAvailable } from "./golden";

interface CheckpointTensor { dtype: string; shape: number[]; data: Uint8Array }
interface Checkpoint { keys(): Iterable<string>; read(name: string): CheckpointTensor; close(): void }
type OpenCheckpoint = (file: string) => Checkpoint;

// Loaded lazily so this helper compiles and its tests skip cleanly while the reader is absent.
function reader(): OpenCheckpoint | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(path.join(__dirname, "..", "..", "kernel", "runtime", "checkpoint", "index"));
    return typeof mod.openCheckpoint === "function" ? (mod.openCheckpoint as OpenCheckpoint) : undefined;
  } catch { return undefined; }
}

function addon(): NativeAddon | undefined {
  try { const a = native(); return typeof a.createModel === "function" ? a : undefined; } catch { return undefined; }
}

/** false when a golden model can be built, else the reason to skip. */
export function goldenModelSkip(): string | false {
  if (!addon()) return "the native addon (with createModel) is not built";
  if (!goldenAvailable()) return "golden data (shared/golden) not found";
  if (!reader()) return "the checkpoint reader (kernel/runtime/checkpoint openCheckpoint) is not available";
  return false;
}

const DTYPES: Record<string, NativeDType> = { f32: "f32", float32: "f32", bf16: "bf16", bfloat16: "bf16", f16: "f16", float16: "f16" };

export function goldenConfig(g: GoldenSet): NativeConfig {
  const m = g.meta;
  return { version: m.version === "x060" ? 6 : 7, nLayer: m.n_layer, nEmbd: m.n_embd, nHead: m.n_head, headSize: m.head_size, vocab: m.vocab_size, dimFfn: m.dim_ffn };
}

/** Every tensor of a golden checkpoint as addon tensors (the bytes stay in the reader's buffers). */
export function goldenTensors(g: GoldenSet, file: string): Record<string, NativeTensor> {
  const ckpt = reader()!(g.file(file));
  try {
    const out: Record<string, NativeTensor> = {};
    for (const name of ckpt.keys()) {
      const t = ckpt.read(name);
      const dtype = DTYPES[t.dtype];
      if (!dtype) throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}, not f32/bf16/f16`);
      out[name] = { dtype, shape: [...t.shape], data: Uint8Array.from(t.data) };
    }
    return out;
  } finally { ckpt.close(); }
}

export function goldenModel(g: GoldenSet, file: string): NativeModel {
  return addon()!.createModel(goldenConfig(g), goldenTensors(g, file));
}
