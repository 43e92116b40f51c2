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
export { DEMO_FILES as demoFiles } from "./runtime/model/demo";
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
export { visibleToken, tokenLabel } from "./runtime/tokenizer/visible";

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
  type Padding,
  type SamplerOptions,
  type SamplerState,
} from "./runtime/data/samplers";
export { magicPrime } from "./runtime/data/magic-prime";
export { makeData, type MakeDataOptions, type MakeDataResult } from "./runtime/data/make-data";
export { readJsonlTexts } from "./runtime/data/jsonl";
export { DEFAULT_CHAT_FIELDS, renderedText, type ChatFields, type DataFormat, type Segment } from "./runtime/data/chat";
export { LossMask } from "./runtime/data/loss-mask";
export { datasetTable, type DatasetTableOptions } from "./runtime/data/arrow";
export { stateTuningSupport, describeSupport, type StateTuningSupport } from "./runtime/data/support";
export type { DataProgress } from "./runtime/data/progress";

// State tuning and state files.
export {
  Tuner,
  type TunerInit,
  type RunOptions,
  type RunObserver,
  type EvalResult,
  type BestResult,
} from "./runtime/tune/tuner";
export type { StepRecord, TunerOptions, LrSchedule, ValidationOptions, StopWhen } from "./runtime/tune/types";
export type { StepGradient } from "./runtime/tune/accumulate";
export { promptState, withZeroShifts } from "./runtime/tune/warm-start";
export { parseLayers } from "./runtime/tune/layers";
export { RunResult, StepHistory, TuningRun, type RunEnd, type Clock } from "./runtime/tune/run-summary";
export type { BranchOptions } from "./runtime/tune/branch";
export { resolveState, checkProvenance, type StateSource } from "./runtime/tune/state-source";
export { mergeState, type MergeResult } from "./runtime/tune/merge";

// Looking inside a state.
export { stateTable, saveStateArrow } from "./runtime/inspect/state-arrow";
export { stateTrajectory, type Trajectory, type TrajectoryOptions } from "./runtime/inspect/trajectory";
export {
  nextTokenDistributions,
  compareNextTokens,
  type NextToken,
  type NextTokenDistribution,
  type NextTokenComparison,
  type CompareNextOptions,
} from "./runtime/inspect/next-token";

// The state studio: the state over training, several states side by side, dials through state space.
export { stateEvolution, type StateEvolution, type EvolutionOptions } from "./runtime/inspect/evolution";
export { compareStates, StateComparison, type CompareOptions, type StateLoss } from "./runtime/inspect/compare";
export { sweepStates, type Sweep, type SweepOptions, type SweepKind } from "./runtime/inspect/sweep";
export { heldOutDocs, heldOutLoss, type HeldOutData, type HeldOutOptions } from "./runtime/inspect/held-out";
export { replies, type ReplyOptions } from "./runtime/inspect/replies";
export {
  statePersistence,
  withoutLayer,
  type Persistence,
  type PersistenceOptions,
} from "./runtime/inspect/persistence";
export { divergence, type Divergence } from "./runtime/inspect/divergence";
export { stateAfterText, type PromptStateOptions } from "./runtime/model/prompt-state";
export {
  compilePrompt,
  fidelityOf,
  type CompiledPrompt,
  type CompileOptions,
  type CompileProgress,
  type CompileRecord,
  type CompileObserver,
  type Fidelity,
} from "./runtime/tune/compile-prompt";

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
