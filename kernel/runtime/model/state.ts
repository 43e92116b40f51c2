// The recurrent state of one sequence: per layer the att token shift (ln1 output of the last
// token), the wkv matrices [head][value][key] and the ffn token shift (ln2 output), all fp32.
import { displaySymbol, type MimeBundle } from "../../display/bundle";
import { toBundle } from "../../display/bundle";
import { stateNorms } from "../../display/figures/state";
import type { NativeState } from "../native";

export interface StateDims {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  headSize: number;
}
export interface LayerNorms {
  layer: number;
  wkv: number;
  attX: number;
  ffnX: number;
  heads: number[];
}
export type StateFileFormat = "pth" | "safetensors";
export interface StateSaveOptions {
  /** By extension when omitted: .st / .safetensors → safetensors, else pth. */
  format?: StateFileFormat;
  dtype?: "bf16" | "f32";
  /** safetensors only: metadata strings stored with the state (model version, dims, base hash, steps, loss...). */
  provenance?: Record<string, string | number>;
}

function l2(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export class State implements NativeState {
  readonly attX: Float32Array;
  readonly wkv: Float32Array;
  readonly ffnX: Float32Array;
  readonly nLayer: number;
  readonly nEmbd: number;
  readonly nHead: number;
  readonly headSize: number;

  constructor(dims: StateDims, arrays?: Partial<NativeState>) {
    const { nLayer: L, nEmbd: C, nHead: H, headSize: N } = dims;
    this.nLayer = L;
    this.nEmbd = C;
    this.nHead = H;
    this.headSize = N;
    this.attX = State.checked(arrays?.attX, L * C, "attX", `[${L},${C}]`);
    this.wkv = State.checked(arrays?.wkv, L * H * N * N, "wkv", `[${L},${H},${N},${N}]`);
    this.ffnX = State.checked(arrays?.ffnX, L * C, "ffnX", `[${L},${C}]`);
  }

  private static checked(a: Float32Array | undefined, n: number, name: string, shape: string): Float32Array {
    if (a === undefined) return new Float32Array(n);
    if (!(a instanceof Float32Array) || a.length !== n)
      throw new Error(`state ${name} must be a Float32Array of ${shape} = ${n} numbers, got ${a?.length}`);
    return a;
  }

  get dims(): StateDims {
    return { nLayer: this.nLayer, nEmbd: this.nEmbd, nHead: this.nHead, headSize: this.headSize };
  }

  clone(): State {
    return new State(this.dims, { attX: this.attX.slice(), wkv: this.wkv.slice(), ffnX: this.ffnX.slice() });
  }

  /** Zeroes everything in place; returns this. */
  zero(): this {
    this.attX.fill(0);
    this.wkv.fill(0);
    this.ffnX.fill(0);
    return this;
  }

  /** Whether both token shifts are all zero (the state-tuning condition). */
  shiftsAreZero(): boolean {
    return this.attX.every((x) => x === 0) && this.ffnX.every((x) => x === 0);
  }

  /** Views (no copies) of one layer: attX [C], wkv [H,N,N], ffnX [C]. */
  layer(l: number): NativeState {
    this.checkLayer(l);
    const C = this.nEmbd,
      S = this.nHead * this.headSize * this.headSize;
    return {
      attX: this.attX.subarray(l * C, (l + 1) * C),
      wkv: this.wkv.subarray(l * S, (l + 1) * S),
      ffnX: this.ffnX.subarray(l * C, (l + 1) * C),
    };
  }

  /** View of one head's N×N matrix, row = value channel, column = key channel. */
  head(l: number, h: number): Float32Array {
    this.checkLayer(l);
    if (!Number.isInteger(h) || h < 0 || h >= this.nHead)
      throw new RangeError(`head ${h} is out of range 0..${this.nHead - 1}`);
    const NN = this.headSize * this.headSize;
    const off = (l * this.nHead + h) * NN;
    return this.wkv.subarray(off, off + NN);
  }

  private checkLayer(l: number): void {
    if (!Number.isInteger(l) || l < 0 || l >= this.nLayer)
      throw new RangeError(`layer ${l} is out of range 0..${this.nLayer - 1}`);
  }

  /** L2 norms per layer (wkv over all heads, each head, both shifts). */
  norms(): LayerNorms[] {
    return Array.from({ length: this.nLayer }, (_, l) => {
      const v = this.layer(l);
      const heads = Array.from({ length: this.nHead }, (_, h) => l2(this.head(l, h)));
      return { layer: l, wkv: l2(v.wkv), attX: l2(v.attX), ffnX: l2(v.ffnX), heads };
    });
  }

  /** Writes the wkv part as RWKV-PEFT does (docs/spec.md §4.1); safetensors carry provenance metadata. */
  async save(file: string, opts: StateSaveOptions = {}): Promise<void> {
    const { saveStateFile } = await import("../tune/state-file");
    await saveStateFile(this, file, opts);
  }

  /** Mounts a state file (wkv = file, shifts zero), checked against the model's dimensions. */
  static async fromStateFile(model: { config: StateDims }, file: string): Promise<State> {
    const { loadStateFile } = await import("../tune/state-file");
    return loadStateFile(model.config, file);
  }

  [displaySymbol](): MimeBundle {
    const rows = this.norms().map(
      (n) =>
        `<tr><td>${n.layer}</td><td>${n.wkv.toFixed(4)}</td><td>${n.heads.map((x) => x.toFixed(3)).join(" ")}</td><td>${n.attX.toFixed(4)}</td><td>${n.ffnX.toFixed(4)}</td></tr>`,
    );
    const table = `<table><thead><tr><th>layer</th><th>‖wkv‖</th><th>‖head‖</th><th>‖att x‖</th><th>‖ffn x‖</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
    const fig = toBundle(
      stateNorms(this, { title: `state: ${this.nLayer} layers × ${this.nHead} heads × ${this.headSize}²` }),
    );
    const figHtml = typeof fig["text/html"] === "string" ? fig["text/html"] : "";
    const text = this.norms()
      .map((n) => `layer ${n.layer}: |wkv| ${n.wkv.toFixed(4)}`)
      .join("\n");
    return {
      ...fig,
      "text/html": `<div><b>State</b> L=${this.nLayer} C=${this.nEmbd} H=${this.nHead} N=${this.headSize}${table}${figHtml}</div>`,
      "text/plain": text,
    };
  }
}
