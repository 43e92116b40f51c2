// The training figure (live during a run, or drawn afterwards from a history): loss (raw and
// smoothed), validation loss when the run measures it, and the learning rate over steps. The
// title says where the run is and how long the rest takes; past the schedule's end a line marks
// where it ended and what the learning rate does after it.
import { Figure } from "../plotly";
import { figureTitle } from "./layout";
import { TRACE_COLORS } from "../colors";
import { formatNumber, type TuningRun } from "../../runtime/tune/run-summary";
import type { StepRecord } from "../../runtime/tune/types";

export type { StepRecord };

export interface TrainingFigureOptions {
  /** The schedule's length (default: the run's). */
  totalSteps?: number;
  /** EMA factor of the smoothed loss curve (default: a window of about a tenth of the run, β ≤ 0.9). */
  smoothing?: number;
  /** The run in progress (or just ended): its progress, ETA and end go into the title. */
  run?: TuningRun;
}

/** Bias-corrected exponential moving average (no startup dip toward zero). */
export function smoothed(values: number[], beta: number): number[] {
  const out: number[] = [];
  let avg = 0;
  for (let i = 0; i < values.length; i++) {
    avg = beta * avg + (1 - beta) * values[i];
    out.push(avg / (1 - Math.pow(beta, i + 1)));
  }
  return out;
}

/**
 * The title's two parts: where the run is ("step 45/60 · ETA 13s", or the history's span without a
 * run) and the latest numbers ("loss 2.1234 · 980 tok/s").
 */
export function trainingHeadline(
  history: StepRecord[],
  opts: { totalSteps?: number; run?: TuningRun } = {},
): [string, string | undefined] {
  const last = history[history.length - 1];
  const run = opts.run;
  if (!last) return [run ? `training: ${run.progressText()}` : "training: no steps yet", undefined];
  if (run) return [run.progressText(), `loss ${last.loss.toFixed(4)} · ${Math.round(last.tokensPerSecond)} tok/s`];
  const total = opts.totalSteps;
  const span = `steps ${history[0].step}–${last.step}${total ? ` of the ${total}-step schedule` : ""}`;
  return [span, `loss ${history[0].loss.toFixed(4)} → ${last.loss.toFixed(4)}`];
}

/** The headline on one line: "step 45/60 · ETA 13s · loss 2.1234 · 980 tok/s". */
export function trainingTitle(history: StepRecord[], opts: { totalSteps?: number; run?: TuningRun } = {}): string {
  return trainingHeadline(history, opts)
    .filter((s) => s !== undefined)
    .join(" · ");
}

export function trainingFigure(history: StepRecord[], opts: TrainingFigureOptions = {}): Figure {
  const run = opts.run;
  const total = opts.totalSteps ?? run?.options.totalSteps;
  const steps = history.map((r) => r.step);
  const loss = history.map((r) => r.loss);
  const validation = history.filter((r) => r.validationLoss !== undefined);
  const lastStep = steps.at(-1) ?? 0;
  const end = Math.max(total ?? 0, run?.targetStep ?? 0, lastStep);
  const past = total !== undefined && end > total;
  const lrEnd = run?.lrPastSchedule ?? history.find((r) => r.step > (total ?? Infinity))?.lr;
  const [blue, orange, green] = TRACE_COLORS;
  return new Figure(
    [
      { type: "scatter", mode: "lines", name: "loss", x: steps, y: loss, line: { color: `${blue}59`, width: 1 } },
      {
        type: "scatter",
        mode: "lines",
        name: "loss (smoothed)",
        x: steps,
        y: smoothed(loss, opts.smoothing ?? Math.min(0.9, Math.max(0, 1 - 10 / Math.max(1, end)))),
        line: { color: blue, width: 2 },
      },
      ...(validation.length
        ? [
            {
              type: "scatter",
              mode: "lines+markers",
              name: "validation loss",
              x: validation.map((r) => r.step),
              y: validation.map((r) => r.validationLoss),
              line: { color: green, width: 2 },
              marker: { color: green, size: 6 },
            },
          ]
        : []),
      {
        type: "scatter",
        mode: "lines",
        name: "learning rate",
        x: steps,
        y: history.map((r) => r.lr),
        yaxis: "y2",
        line: { color: orange, dash: "dot", width: 1.5 },
      },
    ],
    {
      title: figureTitle(...trainingHeadline(history, { totalSteps: total, run })),
      height: 400,
      margin: { l: 60, r: 90, t: 70, b: 50 },
      xaxis: { title: { text: "step" }, range: end > 0 ? [0, end * 1.01 + 0.5] : undefined, automargin: true },
      yaxis: { title: { text: "loss" }, automargin: true },
      yaxis2: {
        title: { text: "learning rate" },
        overlaying: "y",
        side: "right",
        showgrid: false,
        tickmode: "auto",
        nticks: 6,
        exponentformat: "e",
        rangemode: "tozero",
        automargin: true,
      },
      legend: { orientation: "h", y: -0.22 },
      shapes: past
        ? [
            {
              type: "line",
              xref: "x",
              yref: "paper",
              x0: total,
              x1: total,
              y0: 0,
              y1: 1,
              line: { dash: "dash", color: "#888", width: 1 },
            },
          ]
        : [],
      annotations: past
        ? [
            {
              xref: "x",
              yref: "paper",
              x: total,
              y: 1,
              xanchor: "right",
              yanchor: "top",
              showarrow: false,
              font: { size: 11, color: "#555" },
              text:
                `schedule ends (step ${total}) ` +
                (lrEnd === undefined ? "" : `<br>after it, lr stays ${formatNumber(lrEnd)} `),
            },
          ]
        : [],
    },
  );
}
