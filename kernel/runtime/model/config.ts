// Everything about a model's shape, read from its tensors (docs/spec.md §1.2): nobody types n_layer or
// n_embd by hand, so a checkpoint can never be run with the wrong dimensions. The same key/shape
// table checks a file here and lays out the random checkpoints of random-checkpoint.ts.
import { CheckpointError, type Checkpoint } from "../checkpoint";
import type { DType } from "../tensor";

/** The dimensions that fix every tensor shape of a model. */
export interface ModelDims {
  version: 7 | 6;
  nLayer: number;
  nEmbd: number;
  headSize: number;
  vocabSize: number;
  dimFfn: number;
  /** v7: { w, a, v, g }; v6: { mix, decay } */
  lora: Record<string, number>;
}

export interface ModelConfig extends ModelDims {
  nHead: number;
  dtype: DType;
  params: number;
  /** A merged checkpoint carries blocks.{l}.att.time_state. */
  hasTimeState: boolean;
}

/** Released-style [key, shape] list in file order (v7: released World order; v6: definition order). */
export function tensorLayout(d: ModelDims): [string, number[]][] {
  const C = d.nEmbd,
    H = C / d.headSize,
    N = d.headSize,
    F = d.dimFfn,
    vec = [1, 1, C];
  const out: [string, number[]][] = [["emb.weight", [d.vocabSize, C]]];
  const ln = (p: string) => {
    out.push([`${p}.weight`, [C]], [`${p}.bias`, [C]]);
  };
  for (let l = 0; l < d.nLayer; l++) {
    const b = `blocks.${l}`,
      add = (k: string, shape: number[]) => out.push([`${b}.${k}`, shape]);
    const lora = (k: string, D: number) => {
      add(`att.${k}1`, [C, D]);
      add(`att.${k}2`, [D, C]);
    };
    if (d.version === 7) {
      if (l === 0) ln(`${b}.ln0`);
      ln(`${b}.ln1`);
      ln(`${b}.ln2`);
      for (const m of ["r", "w", "k", "v", "a", "g"]) add(`att.x_${m}`, vec);
      add("att.w0", vec);
      add("att.r_k", [H, N]);
      lora("w", d.lora.w);
      lora("a", d.lora.a);
      add("att.a0", vec);
      lora("g", d.lora.g);
      if (l > 0) {
        add("att.v2", [d.lora.v, C]);
        add("att.v1", [C, d.lora.v]);
        add("att.v0", vec);
      }
      add("att.k_k", vec);
      add("att.k_a", vec);
      for (const m of ["receptance", "key", "value", "output"]) add(`att.${m}.weight`, [C, C]);
      ln(`${b}.att.ln_x`);
      add("ffn.x_k", vec);
      add("ffn.key.weight", [F, C]);
      add("ffn.value.weight", [C, F]);
    } else {
      ln(`${b}.ln1`);
      ln(`${b}.ln2`);
      if (l === 0) ln(`${b}.ln0`);
      for (const m of ["x", "w", "k", "v", "r", "g"]) add(`att.time_maa_${m}`, vec);
      add("att.time_maa_w1", [C, 5 * d.lora.mix]);
      add("att.time_maa_w2", [5, d.lora.mix, C]);
      add("att.time_decay", vec);
      add("att.time_decay_w1", [C, d.lora.decay]);
      add("att.time_decay_w2", [d.lora.decay, C]);
      add("att.time_faaaa", [H, N]);
      for (const m of ["receptance", "key", "value", "output", "gate"]) add(`att.${m}.weight`, [C, C]);
      ln(`${b}.att.ln_x`);
      add("ffn.time_maa_k", vec);
      add("ffn.time_maa_r", vec);
      add("ffn.key.weight", [F, C]);
      add("ffn.receptance.weight", [C, C]);
      add("ffn.value.weight", [C, F]);
    }
  }
  ln("ln_out");
  out.push(["head.weight", [d.vocabSize, C]]);
  return out;
}

/** Per-channel vectors are [1,1,C] in released files; [C] is accepted too (docs/spec.md §1.1 reader rules). */
function sameShape(got: readonly number[], want: readonly number[]): boolean {
  if (got.length === want.length && got.every((v, i) => v === want[i])) return true;
  return want.length === 3 && want[0] === 1 && want[1] === 1 && got.length === 1 && got[0] === want[2];
}

export function detectConfig(ckpt: Checkpoint): ModelConfig {
  const keys = ckpt.keys();
  const fail = (why: string, key?: string): never => {
    throw new CheckpointError(why, ckpt.path, key);
  };
  const shape = (k: string) => (ckpt.has(k) ? ckpt.entry(k).shape : fail(`missing tensor ${k}`, k));
  const has = (suffix: string) => keys.some((k) => k.endsWith(suffix));
  if (keys.length > 0 && keys.every((k) => k.endsWith(".att.time_state")))
    return fail(`this is a state file (${keys.length} time_state tensors), not a model checkpoint`);
  let version: 7 | 6;
  if (has("att.r_k") || has("att.x_r")) version = 7;
  else if (has("att.time_maa_x")) version = 6;
  else if (has("att.ln_x.weight"))
    return fail(
      "this is an RWKV-5 (x052) checkpoint, which is not supported; rwkv-notebook runs RWKV-7 (x070) and RWKV-6 (x060)",
    );
  else return fail("not an RWKV-7 or RWKV-6 checkpoint (no att.r_k / att.x_r / att.time_maa_x tensors)");
  const emb = shape("emb.weight");
  if (emb.length !== 2) fail(`emb.weight is [${emb}], expected [vocab, n_embd]`, "emb.weight");
  const [vocabSize, nEmbd] = emb;
  let nLayer = 0;
  for (const k of keys) {
    const m = /^blocks\.(\d+)\./.exec(k);
    if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1);
  }
  if (nLayer === 0) fail("no blocks.{l}.* tensors");
  const hn = version === 7 ? "blocks.0.att.r_k" : "blocks.0.att.time_faaaa";
  const [nHead, headSize] = shape(hn);
  if (nHead * headSize !== nEmbd) fail(`${hn} is [${nHead},${headSize}], which does not fit n_embd ${nEmbd}`, hn);
  const dimFfn = shape("blocks.0.ffn.key.weight")[0];
  const lora: Record<string, number> =
    version === 7
      ? {
          w: shape("blocks.0.att.w1")[1],
          a: shape("blocks.0.att.a1")[1],
          v: nLayer > 1 ? shape("blocks.1.att.v1")[1] : 0,
          g: shape("blocks.0.att.g1")[1],
        }
      : { mix: shape("blocks.0.att.time_maa_w1")[1] / 5, decay: shape("blocks.0.att.time_decay_w1")[1] };
  if (version === 6 && !Number.isInteger(lora.mix))
    fail(`blocks.0.att.time_maa_w1 width is not 5·D_MIX`, "blocks.0.att.time_maa_w1");

  const dims: ModelDims = { version, nLayer, nEmbd, headSize, vocabSize, dimFfn, lora };
  for (const [k, want] of tensorLayout(dims)) {
    const got = shape(k);
    if (!sameShape(got, want))
      fail(
        `shape [${got}] does not fit the model (expected [${want}] for L=${nLayer} C=${nEmbd} V=${vocabSize} F=${dimFfn})`,
        k,
      );
  }
  let params = 0,
    hasTimeState = false;
  const dtypes = new Map<DType, number>();
  for (const k of keys) {
    const e = ckpt.entry(k);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (k.endsWith(".att.time_state")) {
      hasTimeState = true;
      if (!sameShape(e.shape, [nHead, headSize, headSize]))
        fail(`time_state is [${e.shape}], expected [${nHead},${headSize},${headSize}]`, k);
      continue;
    }
    params += n;
    dtypes.set(e.dtype, (dtypes.get(e.dtype) ?? 0) + n);
  }
  const dtype = [...dtypes.entries()].sort((a, b) => b[1] - a[1])[0][0];
  return { ...dims, nHead, dtype, params, hasTimeState };
}
