// Everything about a model's shape, read from its tensors (spec §1.2): nobody types n_layer or
// n_embd by hand, so a checkpoint can never be run with the wrong dimensions.
import { CheckpointError, type Checkpoint } from "../checkpoint";
import type { DType } from "../tensor";

export interface ModelConfig {
  version: 7 | 6;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  headSize: number;
  vocabSize: number;
  dimFfn: number;
  /** v7: { w, a, v, g }; v6: { mix, decay } */
  lora: Record<string, number>;
  dtype: DType;
  params: number;
  /** A merged checkpoint carries blocks.{l}.att.time_state. */
  hasTimeState: boolean;
}

export function detectConfig(ckpt: Checkpoint): ModelConfig {
  const keys = ckpt.keys();
  const shape = (k: string) => ckpt.entry(k).shape;
  const fail = (why: string, key?: string): never => { throw new CheckpointError(why, ckpt.path, key); };
  const has = (suffix: string) => keys.some((k) => k.endsWith(suffix));
  let version: 7 | 6;
  if (has("att.r_k") || has("att.x_r")) version = 7;
  else if (has("att.time_maa_x")) version = 6;
  else if (has("att.ln_x.weight")) return fail("this is an RWKV-5 (x052) checkpoint; rwkv-notebook runs RWKV-7 (x070) and RWKV-6 (x060)");
  else return fail("not an RWKV-7 or RWKV-6 checkpoint (no att.r_k / att.x_r / att.time_maa_x tensors)");
  if (!ckpt.has("emb.weight")) fail("no emb.weight tensor", "emb.weight");
  const [vocabSize, nEmbd] = shape("emb.weight");
  let nLayer = 0;
  for (const k of keys) { const m = /^blocks\.(\d+)\./.exec(k); if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1); }
  if (nLayer === 0) fail("no blocks.{l}.* tensors");
  const hn = version === 7 ? "blocks.0.att.r_k" : "blocks.0.att.time_faaaa";
  if (!ckpt.has(hn)) fail(`missing ${hn}`, hn);
  const [nHead, headSize] = shape(hn);
  if (nHead * headSize !== nEmbd) fail(`${hn} is [${nHead},${headSize}], which does not fit n_embd ${nEmbd}`, hn);
  const dimFfn = shape("blocks.0.ffn.key.weight")[0];
  const width = (k: string, d = 1) => (ckpt.has(k) ? shape(k)[d] : 0);
  const lora: Record<string, number> = version === 7
    ? { w: width("blocks.0.att.w1"), a: width("blocks.0.att.a1"), v: nLayer > 1 ? width("blocks.1.att.v1") : 0, g: width("blocks.0.att.g1") }
    : { mix: width("blocks.0.att.time_maa_w1") / 5, decay: width("blocks.0.att.time_decay_w1") };
  let params = 0;
  const dtypes = new Map<DType, number>();
  for (const k of keys) {
    if (k.endsWith(".time_state")) continue;
    const e = ckpt.entry(k);
    const n = e.shape.reduce((a, b) => a * b, 1);
    params += n;
    dtypes.set(e.dtype, (dtypes.get(e.dtype) ?? 0) + n);
  }
  const dtype = [...dtypes.entries()].sort((a, b) => b[1] - a[1])[0][0];
  return { version, nLayer, nEmbd, nHead, headSize, vocabSize, dimFfn, lora, dtype, params, hasTimeState: keys.some((k) => k.endsWith("att.time_state")) };
}
