// `plot`: the figures of the tutorial as one namespace. Each returns a Figure that displays itself
// in a notebook and saves to HTML or JSON (`figure.save("x.html")`).
import { trainingFigure, type StepRecord } from "./figures/training";
import { stateDiff, stateHeatmap, stateNorms, type StateDiffOptions, type WkvState } from "./figures/state";
import { nextTokenFigure, trajectoryFigure } from "./figures/inspect";
import type { Model } from "../runtime/model/model";
import type { State } from "../runtime/model/state";
import { stateTrajectory, type TrajectoryOptions } from "../runtime/inspect/trajectory";
import { compareNextTokens, type CompareNextOptions } from "../runtime/inspect/next-token";
import type { LengthHistogram } from "../runtime/data/dataset";
import { lengthsFigure } from "./figures/data";
import { Figure } from "./plotly";
import { stateEvolutionFigure } from "./figures/evolution";
import { stateEvolution, type EvolutionOptions, type SnapshotSource } from "../runtime/inspect/evolution";
import { sweepFigure } from "./figures/sweep";
import { stateDistanceFigure } from "./figures/compare";
import { sweepStates, type SweepOptions } from "../runtime/inspect/sweep";
import type { StateComparison } from "../runtime/inspect/compare";
import type { StateSource } from "../runtime/tune/state-source";
import { persistenceFigure } from "./figures/persistence";
import { statePersistence, type PersistenceOptions } from "../runtime/inspect/persistence";

export const plot = {
  /** Document lengths of a dataset (from lengthHistogram). */
  lengths: (h: LengthHistogram, opts: { title?: string } = {}): Figure => lengthsFigure(h, opts),
  /** Loss (raw and smoothed), validation loss when measured, and learning rate over steps. */
  loss: (history: StepRecord[], opts: { totalSteps?: number } = {}): Figure => trainingFigure(history, opts),
  /** One head's wkv matrix (rows: value channel, columns: key channel). */
  stateHeatmap: (state: WkvState, opts: { layer?: number; head?: number; name?: string } = {}): Figure =>
    stateHeatmap(state, opts),
  /** b − a for one head (default: the head that changed most); `names` names a and b in the title. */
  stateDiff: (a: WkvState, b: WkvState, opts: StateDiffOptions = {}): Figure => stateDiff(a, b, opts),
  /** Norm of every layer's and head's matrix. */
  stateNorms: (state: WkvState, opts: { title?: string } = {}): Figure => stateNorms(state, opts),
  /**
   * The state over a tuner's run: each head's norm and distance from the final state over the kept
   * steps, and one head's matrix with a slider over the steps and a dropdown over the heads.
   */
  stateEvolution: (tuner: SnapshotSource, opts: EvolutionOptions & { title?: string } = {}): Figure => {
    const { title, ...rest } = opts;
    return stateEvolutionFigure(stateEvolution(tuner, rest), { title });
  },
  /**
   * Held-out loss (or `score`) along a dial through state space: one state scaled by alpha, the line
   * between two states, or a path through several; replies at the points of `at`.
   */
  sweep: async (
    model: Model,
    states: StateSource | StateSource[] | Record<string, StateSource>,
    opts: SweepOptions & { title?: string } = {},
  ): Promise<Figure> => {
    const { title, ...rest } = opts;
    return sweepFigure(await sweepStates(model, states, rest), { title });
  },
  /** The pairwise distances of compared states, layer by layer (from compareStates). */
  stateDistances: (c: Pick<StateComparison, "names" | "distances">): Figure => stateDistanceFigure(c),
  /**
   * The stability probe: along `text`, the per-token KL between the tuned and the base model, each
   * head's half-life, and the loss change when one layer's tuned state is zeroed.
   */
  persistence: async (model: Model, state: State, opts: PersistenceOptions & { title?: string }): Promise<Figure> => {
    const { title, ...rest } = opts;
    return persistenceFigure(await statePersistence(model, state, rest), { title });
  },
  /** Per-token state norms and a 2-D projection of the state while the model reads `text`. */
  trajectory: async (model: Model, text: string, opts: TrajectoryOptions = {}): Promise<Figure> =>
    trajectoryFigure(await stateTrajectory(model, text, opts)),
  /**
   * Next-token probabilities from each state (undefined = the model's default state) along an
   * answer to `prompt` (default: the last state's greedy answer), at the answer token where the
   * states differ most (or `position`), with the divergence at every answer token above.
   */
  compareNext: async (
    model: Model,
    prompt: string,
    states: (State | undefined)[],
    opts: CompareNextOptions = {},
  ): Promise<Figure> => nextTokenFigure(await compareNextTokens(model, prompt, states, opts)),
};
