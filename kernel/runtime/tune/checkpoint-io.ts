// The checkpoint reader/writers (NAME=ckpt, kernel/runtime/checkpoint and model/config.ts) as the
// runtime uses them. Resolved at call time so the runtime compiles and its other parts work
// before that module is present; a missing module gives one clear error.
import * as path from "node:path";
import type { NativeConfig } from "../native";

/** A tensor as the checkpoint module reads and writes it: row-major little-endian bytes. */
export interface FileTensor { dtype: string; shape: number[]; data: Uint8Array }
export interface CheckpointReader {
  keys(): Iterable<string>;
  read(name: string): FileTensor;
  close(): void;
}

interface CheckpointModule {
  openCheckpoint(file: string): CheckpointReader;
  writePth(file: string, tensors: Record<string, FileTensor>): unknown;
  writeSafetensors(file: string, tensors: Record<string, FileTensor>, metadata?: Record<string, string>): unknown;
}
interface ConfigModule { detectConfig(ckpt: CheckpointReader): Partial<NativeConfig> & { vocabSize?: number } }

function load<T>(rel: string, what: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(path.join(__dirname, rel)) as T;
  } catch (e) {
    throw new Error(`rwkv-notebook: ${what} is not available in this build (${(e as Error).message.split("\n")[0]})`);
  }
}
const ckpt = (): CheckpointModule => load<CheckpointModule>("../checkpoint/index", "the checkpoint reader/writer (kernel/runtime/checkpoint)");

export function openCheckpoint(file: string): CheckpointReader { return ckpt().openCheckpoint(file); }

export async function writePth(file: string, tensors: Record<string, FileTensor>): Promise<void> {
  await ckpt().writePth(file, tensors);
}

export async function writeSafetensors(file: string, tensors: Record<string, FileTensor>, metadata: Record<string, string>): Promise<void> {
  await ckpt().writeSafetensors(file, tensors, metadata);
}

/** Version and dimensions from the tensors' names and shapes. */
export function detectConfig(reader: CheckpointReader, file: string): NativeConfig {
  const c = load<ConfigModule>("../model/config", "model configuration detection (kernel/runtime/model/config.ts)").detectConfig(reader);
  const cfg = { version: c.version, nLayer: c.nLayer, nEmbd: c.nEmbd, nHead: c.nHead, headSize: c.headSize, vocab: c.vocab ?? c.vocabSize, dimFfn: c.dimFfn };
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`${file}: could not determine ${k} from the checkpoint's tensors`);
  }
  return cfg as NativeConfig;
}

/** Our dtype name for a checkpoint dtype string ("bfloat16", "bf16", "float32", ...). */
export function floatDType(dtype: string): "f32" | "bf16" | "f16" | undefined {
  return ({ f32: "f32", float32: "f32", F32: "f32", bf16: "bf16", bfloat16: "bf16", BF16: "bf16", f16: "f16", float16: "f16", F16: "f16" } as Record<string, "f32" | "bf16" | "f16">)[dtype];
}
