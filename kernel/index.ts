// The public API of rwkv-notebook: one runtime under the notebook kernel, the CLI and plain use.
export { native, nativeAddonPath } from "./runtime/native";
export type { NativeInfo, CudaDevice } from "./runtime/native";
export * from "./runtime/tokenizer";
export * from "./runtime/data";
export * from "./display";
export {
  Model,
  meanCrossEntropy,
  type ModelConfig,
  type Device,
  type LoadOptions,
  type ForwardOptions,
  type ForwardResult,
} from "./runtime/model/model";
export {
  State,
  type StateDims,
  type WkvState,
  type LayerNorms,
  type StateSaveOptions,
  type StateFileFormat,
} from "./runtime/model/state";
export type { GenerateOptions } from "./runtime/model/generate";
export { sampleToken, type SamplingOptions } from "./runtime/model/sampling";
export { Tuner, type TunerInit, type RunOptions, type RunObserver, type EvalResult } from "./runtime/tune/tuner";
export type { StepRecord, TunerOptions, LrSchedule } from "./runtime/tune/types";
export { cosLr, expLr, learningRate } from "./runtime/tune/schedule";
export { clipGradNorm, Adam } from "./runtime/tune/adam";
export { timeStateKey } from "./runtime/model/config";
export { AbortError, RwkvError } from "./runtime/errors";
export { mergeState } from "./runtime/tune/merge";
export { tutorialSetup, showsPirateStyle, type TutorialSetup } from "./runtime/demo";
export { stateTable, saveStateArrow } from "./runtime/inspect/state-arrow";
export { stateTrajectory, type Trajectory } from "./runtime/inspect/trajectory";
export { nextTokenDistributions, type NextTokenDistribution } from "./runtime/inspect/next-token";
export { writeRandomCheckpoint } from "./runtime/model/random-checkpoint";
export {
  openCheckpoint,
  writePth,
  writeSafetensors,
  CheckpointError,
  type Checkpoint,
  type TensorEntry,
  type TensorSource,
} from "./runtime/checkpoint";
export { Tensor, type DType } from "./runtime/tensor";
export { detectConfig, tensorLayout, type ModelDims } from "./runtime/model/config";
