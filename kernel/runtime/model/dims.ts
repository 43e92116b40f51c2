// The one description of a model's shape, shared by the checkpoint reader, the native runtime,
// states, state files, tuner checkpoints and the random-checkpoint writer.

/** The dimensions that fix every tensor shape of a model. */
export interface ModelDims {
  version: 7 | 6;
  nLayer: number;
  nEmbd: number;
  /** nEmbd / headSize. */
  nHead: number;
  headSize: number;
  vocabSize: number;
  dimFfn: number;
  /** LoRA widths. v7: { w, a, v, g }; v6: { mix, decay }. */
  lora: Record<string, number>;
}

/** The part of ModelDims a recurrent state's shape depends on. */
export type StateDims = Pick<ModelDims, "nLayer" | "nEmbd" | "nHead" | "headSize">;

/** Whether two states (or a state and a model) have the same shape. */
export function sameStateDims(a: StateDims, b: StateDims): boolean {
  return a.nLayer === b.nLayer && a.nEmbd === b.nEmbd && a.nHead === b.nHead && a.headSize === b.headSize;
}

/** "L12 C768 H12 N64", as messages name a state's shape. */
export function describeDims(d: StateDims): string {
  return `L${d.nLayer} C${d.nEmbd} H${d.nHead} N${d.headSize}`;
}
