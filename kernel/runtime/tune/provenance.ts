// What a saved state records about the model it belongs to (safetensors metadata, docs/spec.md §4.1):
// the version, the dims and the base checkpoint's hash, which State.fromStateFile and compareStates
// check before they mount a file.
import type { Model } from "../model/model";

export async function modelProvenance(model: Model): Promise<Record<string, string>> {
  const c = model.config;
  return {
    model_version: `x0${c.version}0`,
    dims: `L${c.nLayer} C${c.nEmbd} H${c.nHead} N${c.headSize} V${c.vocabSize}`,
    base_sha256: await model.checkpointHash(),
  };
}
