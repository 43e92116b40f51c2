// Merging a state into a base checkpoint as RWKV-PEFT merge/merge_state.py does (docs/spec.md §4.2):
// every base tensor, then `blocks.{l}.att.time_state` from the state file (replacing any already
// there), checked against the base model's dimensions; written atomically.
import * as fs from "node:fs";
import * as path from "node:path";
import { openCheckpoint, type TensorSource } from "../checkpoint";
import { detectConfig } from "../model/config";
import { readTimeStates, timeStateKey, writeTensors } from "./state-file";

export interface MergeResult {
  out: string;
  baseKeys: number;
  stateKeys: number;
}

export async function mergeState(basePath: string, statePath: string, outPath: string): Promise<MergeResult> {
  for (const f of [basePath, statePath]) if (!fs.existsSync(f)) throw new Error(`${f} does not exist`);
  if ([basePath, statePath].some((f) => path.resolve(f) === path.resolve(outPath)))
    throw new Error(`the output ${outPath} must differ from the inputs`);
  const base = openCheckpoint(basePath);
  try {
    const cfg = detectConfig(base);
    const dims = { nLayer: cfg.nLayer, nEmbd: cfg.nEmbd, nHead: cfg.nHead, headSize: cfg.headSize };
    readTimeStates(dims, statePath); // validates layer count and shapes, naming any mismatch
    const tensors: Record<string, TensorSource> = {};
    for (const k of base.keys()) if (!/\.time_state$/.test(k)) tensors[k] = base.read(k);
    const state = openCheckpoint(statePath);
    try {
      for (let l = 0; l < cfg.nLayer; l++) tensors[timeStateKey(l)] = state.read(timeStateKey(l));
      writeTensors(outPath, tensors, "pth");
    } finally {
      state.close();
    }
    return { out: outPath, baseKeys: Object.keys(tensors).length - cfg.nLayer, stateKeys: cfg.nLayer };
  } finally {
    base.close();
  }
}
