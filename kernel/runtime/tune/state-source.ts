// A state given as a State or as a state file, checked against the model it will run on. Beyond the
// shapes readTimeStates checks, a safetensors file's provenance (docs/spec.md §4.1) tells which RWKV
// version and which exact base checkpoint it was tuned on: a file for RWKV-6 offered to an RWKV-7
// model, or one tuned on another base file, is refused with the file and the reason. A .pth state
// (RWKV-PEFT's layout) carries no provenance: only its shapes can be checked.
import * as fs from "node:fs";
import * as path from "node:path";
import { openCheckpoint } from "../checkpoint";
import { OptionsError, StateFileError } from "../errors";
import { describeDims, sameStateDims, type ModelDims, type StateDims } from "../model/dims";
import { State } from "../model/state";
import { readTimeStates } from "./state-file";

/** A state, or the path of a state file (.pth as RWKV-PEFT writes it, or safetensors). */
export type StateSource = State | string;

/** What a state file is checked against: the model's dims and the sha256 of its checkpoint. */
export interface StateTarget {
  readonly config: ModelDims;
  readonly path: string;
  checkpointHash(): Promise<string>;
}

const versionName = (v: string): string => (v === "x060" ? "RWKV-6 (x060)" : v === "x070" ? "RWKV-7 (x070)" : v);

/** The dims a provenance `dims` entry names: JSON `{nLayer,…}` or the tuner's "L… C… H… N… V…". */
function provenanceDims(text: string): Partial<StateDims> | undefined {
  try {
    const j = JSON.parse(text) as Partial<StateDims>;
    if (typeof j === "object" && j !== null) return j;
  } catch {
    /* the tuner's text form */
  }
  const num = (k: string) => {
    const m = new RegExp(`\\b${k}(\\d+)\\b`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const d = { nLayer: num("L"), nEmbd: num("C"), nHead: num("H"), headSize: num("N") };
  return Object.values(d).some((x) => x !== undefined) ? d : undefined;
}

/** Throws a StateFileError when a state file's provenance says it was made for another model. */
export async function checkProvenance(model: StateTarget, file: string): Promise<void> {
  if (!fs.existsSync(file)) throw new StateFileError(`state file ${file} does not exist`, file);
  const ckpt = openCheckpoint(file);
  let meta: Record<string, string>;
  try {
    meta = { ...ckpt.metadata };
  } finally {
    ckpt.close();
  }
  const c = model.config;
  const ours = `x0${c.version}0`;
  if (meta.model_version && meta.model_version !== ours)
    throw new StateFileError(
      `${file} was tuned for ${versionName(meta.model_version)}; this model is ${versionName(ours)}: ` +
        "a state only works with the model it was tuned on",
      file,
      "model_version",
    );
  const dims = meta.dims ? provenanceDims(meta.dims) : undefined;
  if (
    dims &&
    (["nLayer", "nEmbd", "nHead", "headSize"] as const).some((k) => dims[k] !== undefined && dims[k] !== c[k])
  )
    throw new StateFileError(
      `${file} was tuned for a model of ${meta.dims}; this model is ${describeDims(c)}`,
      file,
      "dims",
    );
  if (meta.base_sha256) {
    const hash = await model.checkpointHash();
    if (meta.base_sha256 !== hash)
      throw new StateFileError(
        `${file} was tuned on another base model: its base_sha256 is ${meta.base_sha256.slice(0, 12)}…, ` +
          `${path.basename(model.path)} is ${hash.slice(0, 12)}… ` +
          "(a state only works with the exact model it was tuned on)",
        file,
        "base_sha256",
      );
  }
}

/** The state a source stands for, on this model: a State as it is (dims checked), a file read and checked. */
export async function resolveState(model: StateTarget, source: StateSource, name = "state"): Promise<State> {
  const c = model.config;
  if (source instanceof State) {
    if (!sameStateDims(source, c))
      throw new OptionsError(
        `${name}: a state of ${describeDims(source)} does not fit the model's ${describeDims(c)}`,
        name,
      );
    return source;
  }
  if (typeof source !== "string")
    throw new OptionsError(`${name} must be a State or the path of a state file, got ${typeof source}`, name);
  await checkProvenance(model, source);
  return new State(c, { wkv: readTimeStates(c, source) });
}
