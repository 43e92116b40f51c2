// The public API of rwkv-notebook: one runtime under the notebook kernel, the CLI and plain use.
// What is exported here is the supported surface; modules under runtime/ and display/ hold more
// (raw native bindings, file-format internals) that may change. The tutorial's helpers are the
// separate entry "rwkv-notebook/tutorial".

// Loading the model, running it, generating.
export {
  Model,
  meanCrossEntropy,
  type Device,
  type Compute,
  type LoadOptions,
  type ForwardOptions,
  type ForwardResult,
} from "./runtime/model/model";
export { detectConfig, timeStateKey, type ModelConfig, type ModelDims, type StateDims } from "./runtime/model/config";
export {
  State,
  type WkvState,
  type LayerNorms,
  type StateSaveOptions,
  type StateFileFormat,
} from "./runtime/model/state";
export type { GenerateOptions } from "./runtime/model/generate";
export type { SamplingOptions } from "./runtime/model/sampling";
export { writeRandomCheckpoint, type RandomCheckpointOptions } from "./runtime/model/random-checkpoint";
export { runtimeInfo, type NativeInfo, type CudaDevice, type SimdPath } from "./runtime/native";

// Checkpoint files and tensors.
export {
  openCheckpoint,
  writePth,
  writeSafetensors,
  type Checkpoint,
  type TensorEntry,
  type TensorSource,
} from "./runtime/checkpoint";
export { Tensor, type DType } from "./runtime/tensor";

// Tokenizers.
export {
  loadTokenizer,
  resolveVocab,
  WorldTokenizer,
  ByteTokenizer,
  END_OF_DOC,
  WORLD_VOCAB_SIZE,
  VOCAB_FILE_NAME,
  VOCAB_SOURCE,
  VOCAB_SHA256,
  type Tokenizer,
  type TokenizerKind,
  type TokenizerOptions,
  type StreamDecoder,
} from "./runtime/tokenizer";

// Training data.
export { Dataset, lengthHistogram, type TokenDataset, type LengthHistogram } from "./runtime/data/dataset";
export { BinIdxDataset, writeBinIdx, type BinDType } from "./runtime/data/binidx";
export {
  createSampler,
  nextBatch,
  batchOf,
  IGNORE_TARGET,
  type Batch,
  type Sample,
  type Sampler,
  type SamplerKind,
  type SamplerOptions,
  type SamplerState,
} from "./runtime/data/samplers";
export { magicPrime } from "./runtime/data/magic-prime";
export { makeData, type MakeDataOptions, type MakeDataResult } from "./runtime/data/make-data";
export { readJsonlTexts } from "./runtime/data/jsonl";
export { datasetTable, type DatasetTableOptions } from "./runtime/data/arrow";
export { stateTuningSupport, describeSupport, type StateTuningSupport } from "./runtime/data/support";
export type { DataProgress } from "./runtime/data/progress";

// State tuning and state files.
export { Tuner, type TunerInit, type RunOptions, type RunObserver, type EvalResult } from "./runtime/tune/tuner";
export type { StepRecord, TunerOptions, LrSchedule } from "./runtime/tune/types";
export { mergeState, type MergeResult } from "./runtime/tune/merge";

// Looking inside a state.
export { stateTable, saveStateArrow } from "./runtime/inspect/state-arrow";
export { stateTrajectory, type Trajectory, type TrajectoryOptions } from "./runtime/inspect/trajectory";
export { nextTokenDistributions, type NextTokenDistribution } from "./runtime/inspect/next-token";

// Errors: one base class; each kind catchable by class or by name.
export {
  RwkvError,
  CheckpointError,
  DataError,
  StateFileError,
  TunerCheckpointError,
  OptionsError,
  AbortError,
} from "./runtime/errors";
export { VocabError } from "./runtime/tokenizer/vocab-file";

// Showing things in a notebook.
export * from "./display";
