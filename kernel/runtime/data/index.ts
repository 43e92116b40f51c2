// Data entry point: binidx reading/writing, in-memory datasets, samplers, make-data.
export { Dataset, lengthHistogram, type TokenDataset, type LengthHistogram } from "./dataset";
export { BinIdxDataset, writeBinIdx, encodeIdx, parseIdx, idxHeader, type BinDType } from "./binidx";
export {
  createSampler,
  nextBatch,
  IGNORE_TARGET,
  type Batch,
  type Sampler,
  type SamplerKind,
  type Padding,
  type SamplerOptions,
  type SamplerState,
  type Sample,
} from "./samplers";
export { magicPrime, magicPrimeStart, isPrime } from "./magic-prime";
export { datasetTable, type DatasetTableOptions } from "./arrow";
export { makeData, type MakeDataOptions, type MakeDataResult } from "./make-data";
export { readJsonlTexts } from "./jsonl";
export { stateTuningSupport, describeSupport, type StateTuningSupport } from "./support";
export { TerminalProgress, formatProgress, type DataProgress } from "./progress";
