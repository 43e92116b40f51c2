// The recurrent state of one sequence: per layer the att token shift (ln1 output of the last
// token), the wkv matrices [head][value][key] and the ffn token shift (ln2 output), all fp32.
import { OptionsError } from "../errors";
import { l2Norm } from "../math";
import { describeDims, sameStateDims } from "./dims";
import type { NativeState } from "../native";
import { readTimeStates, saveStateFile, type StateSaveOptions } from "../tune/state-file";
import type { StateDims } from "./config";

export type { StateDims } from "./config";
export type { StateFileFormat, StateSaveOptions } from "../tune/state-file";

/** The wkv part of a state with its shape: what figures and tables of a state read (a State is one). */
export type WkvState = Pick<State, "wkv" | "nLayer" | "nHead" | "headSize">;
export interface LayerNorms {
  layer: number;
  wkv: number;
  attX: number;
  ffnX: number;
  heads: number[];
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
      const heads = Array.from({ length: this.nHead }, (_, h) => l2Norm(this.head(l, h)));
      return { layer: l, wkv: l2Norm(v.wkv), attX: l2Norm(v.attX), ffnX: l2Norm(v.ffnX), heads };
    });
  }

  /** Writes the wkv part as RWKV-PEFT does (docs/spec.md §4.1); safetensors carry provenance metadata. */
  async save(file: string, opts: StateSaveOptions = {}): Promise<void> {
    await saveStateFile(this, file, opts);
  }

  /** (1 − t)·a + t·b, every part (t outside [0, 1] extrapolates). */
  static lerp(a: State, b: State, t: number): State {
    checkWeight(t, "t");
    return State.mix([a, b], [1 - t, t]);
  }

  /** alpha·s, every part: the "dial" of how strongly a tuned state speaks. */
  static scale(s: State, alpha: number): State {
    checkWeight(alpha, "alpha");
    return State.mix([s], [alpha]);
  }

  /** Σ weights[i]·states[i], every part (default weights: equal shares summing to 1); sums in float64. */
  static mix(states: State[], weights?: number[]): State {
    if (!Array.isArray(states) || states.length === 0 || !states.every((s) => s instanceof State))
      throw new OptionsError("State.mix needs a non-empty array of States", "states");
    const w = weights ?? states.map(() => 1 / states.length);
    if (!Array.isArray(w) || w.length !== states.length)
      throw new OptionsError(`State.mix: ${states.length} states need ${states.length} weights`, "weights");
    w.forEach((x, i) => checkWeight(x, `weights[${i}]`));
    const first = states[0];
    for (const s of states)
      if (!sameStateDims(s, first))
        throw new OptionsError(
          `State.mix: states of ${describeDims(first)} and ${describeDims(s)} cannot mix`,
          "states",
        );
    const part = (key: "attX" | "wkv" | "ffnX"): Float32Array => {
      const out = new Float32Array(first[key].length);
      for (let i = 0; i < out.length; i++) {
        let acc = 0;
        for (let k = 0; k < states.length; k++) acc += w[k] * states[k][key][i];
        out[i] = acc;
      }
      return out;
    };
    return new State(first.dims, { attX: part("attX"), wkv: part("wkv"), ffnX: part("ffnX") });
  }

  /** Mounts a state file (wkv = file, shifts zero), checked against the model's dimensions. */
  static async fromStateFile(model: { config: StateDims }, file: string): Promise<State> {
    return loadStateFile(model.config, file);
  }
}

function checkWeight(x: unknown, name: string): void {
  if (typeof x !== "number" || !Number.isFinite(x))
    throw new OptionsError(`${name} must be a finite number, got ${String(x)}`, name);
}

/** A state file's wkv with zero token shifts (State.fromStateFile, synchronously). */
export function loadStateFile(dims: StateDims, file: string): State {
  return new State(dims, { wkv: readTimeStates(dims, file) });
}
