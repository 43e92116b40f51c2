// The live training view: loss (raw and smoothed) and learning rate over steps, with a title line
// giving progress, throughput and ETA.
import { Figure } from "../plotly";
import { formatDuration } from "../../runtime/data/progress";
import type { StepRecord } from "../../runtime/tune/types";

export type { StepRecord };

export interface TrainingFigureOptions {
  totalSteps?: number;
  /** EMA factor of the smoothed loss curve. */
  smoothing?: number;
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

export function trainingTitle(history: StepRecord[], totalSteps?: number): string {
  const last = history[history.length - 1];
  if (!last) return "training: no steps yet";
  const stepPart = totalSteps ? `step ${last.step}/${totalSteps}` : `step ${last.step}`;
  const parts = [stepPart, `loss ${last.loss.toFixed(4)}`, `${Math.round(last.tokensPerSecond)} tok/s`];
  if (totalSteps && last.step > 0) {
    const remaining = totalSteps - last.step;
    parts.push(
      remaining > 0
        ? `ETA ${formatDuration(((last.elapsedMs / last.step) * remaining) / 1000, "short")}`
        : `done in ${formatDuration(last.elapsedMs / 1000, "short")}`,
    );
  }
  return parts.join(" · ");
}

export function trainingFigure(history: StepRecord[], opts: TrainingFigureOptions = {}): Figure {
  const steps = history.map((r) => r.step);
  const loss = history.map((r) => r.loss);
  return new Figure(
    [
      {
        type: "scatter",
        mode: "lines",
        name: "loss",
        x: steps,
        y: loss,
        line: { color: "rgba(31,119,180,0.35)", width: 1 },
      },
      {
        type: "scatter",
        mode: "lines",
        name: "loss (smoothed)",
        x: steps,
        y: smoothed(loss, opts.smoothing ?? 0.9),
        line: { color: "rgb(31,119,180)", width: 2 },
      },
      {
        type: "scatter",
        mode: "lines",
        name: "learning rate",
        x: steps,
        y: history.map((r) => r.lr),
        yaxis: "y2",
        line: { color: "rgb(255,127,14)", dash: "dot", width: 1.5 },
      },
    ],
    {
      title: { text: trainingTitle(history, opts.totalSteps), font: { size: 14 } },
      height: 380,
      margin: { l: 60, r: 70, t: 50, b: 45 },
      xaxis: { title: { text: "step" }, range: opts.totalSteps ? [0, opts.totalSteps] : undefined },
      yaxis: { title: { text: "loss" } },
      yaxis2: { title: { text: "lr" }, overlaying: "y", side: "right", showgrid: false, exponentformat: "e" },
      legend: { orientation: "h", y: -0.2 },
    },
  );
}
