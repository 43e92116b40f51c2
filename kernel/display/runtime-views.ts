// How the runtime's objects look in a notebook. The runtime draws nothing itself: this file
// registers the bundles of State, Model, Tuner, its step records, history and run results with the
// display protocol, and installs the live training view as every Tuner.run's default observer.
// The display layer's entry installs it.
import * as path from "node:path";
import { registerFormatter, toBundle, type MimeBundle } from "./bundle";
import { stateNorms } from "./figures/state";
import { trainingFigure } from "./figures/training";
import { StateNormPanel } from "./figures/evolution";
import { escapeHtml } from "./html";
import { liveView } from "./live";
import { historyRow, rowsBundle } from "./table";
import { Model } from "../runtime/model/model";
import { State } from "../runtime/model/state";
import {
  describeStep,
  formatNumber,
  RunResult,
  scheduleEtaMs,
  shortDuration,
  StepHistory,
  TunerStep,
  type TuningRun,
} from "../runtime/tune/run-summary";
import { setDefaultRunObserver, Tuner } from "../runtime/tune/tuner";
import type { StepRecord } from "../runtime/tune/types";

/** The state's shape and the norm figure (per layer and head); a table of the token shifts when they are set. */
export function stateBundle(s: State): MimeBundle {
  const norms = s.norms();
  const shifts = norms.every((n) => n.attX === 0 && n.ffnX === 0);
  const rows = norms.map((n) => ({
    layer: n.layer,
    "‖wkv‖": n.wkv.toFixed(2),
    "‖att shift‖": n.attX.toFixed(3),
    "‖ffn shift‖": n.ffnX.toFixed(3),
  }));
  const table = shifts ? "" : String(rowsBundle(rows)["text/html"]);
  const fig = toBundle(stateNorms(s, { title: `state: ${s.nLayer} layers × ${s.nHead} heads × ${s.headSize}²` }));
  const figHtml = typeof fig["text/html"] === "string" ? fig["text/html"] : "";
  const shape =
    `${s.nLayer} layers, ${s.nHead} heads of ${s.headSize}×${s.headSize} (embedding ${s.nEmbd})` +
    (shifts ? "; token shifts zero, as state tuning has them" : "");
  return {
    ...fig,
    "text/html": `<div><b>State</b>: ${escapeHtml(shape)}${table}${figHtml}</div>`,
    "text/plain": [`State: ${shape}`, ...norms.map((n) => `layer ${n.layer}: |wkv| ${n.wkv.toFixed(4)}`)].join("\n"),
  };
}

/** The model's file, shape, size, dtype, device and compute as a two-column table. */
export function modelBundle(m: Model): MimeBundle {
  const c = m.config;
  const rows: Array<[string, string]> = [
    ["file", path.basename(m.path)],
    ["version", `RWKV-${c.version}`],
    ["layers", String(c.nLayer)],
    ["embedding", String(c.nEmbd)],
    ["heads × head size", `${c.nHead} × ${c.headSize}`],
    ["vocabulary", String(c.vocabSize)],
    ["FFN width", String(c.dimFfn)],
    ["parameters", c.params.toLocaleString("en-US")],
    ["dtype", c.dtype],
    ["device", m.device],
    ["compute", m.compute],
    ["default state", c.hasTimeState ? "merged time_state" : "zero"],
  ];
  // A built-in model (Model.demo()) says what it is and what it cannot do.
  const about = m.about ? `<p style="max-width:50em">${escapeHtml(m.about)}</p>` : "";
  return {
    "text/plain": `Model(${rows.map(([k, v]) => `${k}: ${v}`).join(", ")})${m.about ? `\n${m.about}` : ""}`,
    "text/html": about + keyValueTable(rows),
  };
}

function keyValueTable(rows: Array<[string, string]>): string {
  const tr = ([k, v]: [string, string]) =>
    `<tr><th style="text-align:left">${escapeHtml(k)}</th><td style="text-align:left">${escapeHtml(v)}</td></tr>`;
  return `<table><tbody>${rows.map(tr).join("")}</tbody></table>`;
}

const seconds = (ms: number | undefined): string =>
  ms === undefined ? "unknown until a step has run" : shortDuration(ms);

/** Warnings as boxes (the text stays readable where styles are stripped). */
function warningsHtml(warnings: readonly string[]): string {
  return warnings
    .map(
      (w) =>
        `<div class="rwkv-warning" style="background:#fff8e1;border-left:4px solid #f0ad4e;padding:4px 8px;` +
        `margin:4px 0">⚠ ${escapeHtml(w)}</div>`,
    )
    .join("");
}

/** The tuner at a glance: progress, last loss, ETA, learning rate, batch, optimizer, model, data. */
export function tunerBundle(t: Tuner): MimeBundle {
  const o = t.options,
    last = t.history.at(-1),
    run = t.lastRun;
  const eta = scheduleEtaMs(t.history, o.totalSteps, run);
  const progress =
    t.steps > o.totalSteps
      ? `${t.steps} steps (${t.steps - o.totalSteps} past the ${o.totalSteps}-step schedule)`
      : `${t.steps} of ${o.totalSteps} steps`;
  const rows: Array<[string, string]> = [
    ["progress", progress + (run?.end === "running" ? " (running)" : "")],
    ["last loss", last ? `${last.loss.toFixed(4)} at step ${last.step}` : "no steps yet"],
    ...(last?.validationLoss !== undefined
      ? [["validation loss", last.validationLoss.toFixed(4)] as [string, string]]
      : []),
    ["time left", eta === 0 ? "schedule complete" : `${seconds(eta)} for the rest of the schedule`],
    [
      "learning rate",
      `next ${formatNumber(t.lr)}; ${o.lrSchedule} ${formatNumber(o.lrInit)} → ${formatNumber(o.lrFinal)} over ` +
        `${o.totalSteps} steps${o.warmupSteps ? `, ${o.warmupSteps} warm-up` : ""}`,
    ],
    ["batch", `${o.microBsz} × ctxLen ${o.ctxLen}, sampler ${o.sampler}, seed ${o.seed}`],
    [
      "optimizer",
      `Adam (β ${o.beta1}, ${o.beta2}, ε ${o.eps}), grad clip ${o.gradClip || "off"}, ` +
        `L2Wrap ${o.l2wrap ? "on" : "off"}`,
    ],
    ["model", `${path.basename(t.model.path)} (RWKV-${t.model.config.version}, ${t.model.config.nLayer} layers)`],
    [
      "data",
      `${t.dataset.docCount.toLocaleString("en-US")} documents, ${t.dataset.tokenCount.toLocaleString("en-US")} tokens`,
    ],
    ...(run ? [["last run", RunResult.ofRun(run).summary()] as [string, string]] : []),
  ];
  return {
    "text/plain":
      `Tuner(${progress}, ${last ? `loss ${last.loss.toFixed(4)}` : "no steps yet"}, ` +
      `time left ${eta === 0 ? "none" : seconds(eta)}; ctxLen ${o.ctxLen}, microBsz ${o.microBsz}, ` +
      `lr ${formatNumber(o.lrInit)}→${formatNumber(o.lrFinal)} ${o.lrSchedule}, sampler ${o.sampler})`,
    "text/html": `<div><b>Tuner</b>${keyValueTable(rows)}</div>`,
  };
}

/** One step on one line. */
export function stepBundle(r: StepRecord): MimeBundle {
  return {
    "text/plain": `StepRecord(${describeStep(r)})`,
    "text/html": `<div><b>Step ${r.step}</b> · ${escapeHtml(describeStep(r).replace(/^step \d+ · /, ""))}</div>`,
  };
}

/** The history as a table: the first steps and the latest ones, with the loss from first to last. */
export function historyBundle(h: readonly StepRecord[]): MimeBundle {
  if (h.length === 0) return { "text/plain": "StepHistory (no steps yet)", "text/html": "<i>no steps yet</i>" };
  const head = 3,
    tail = 12;
  const rows =
    h.length <= head + tail + 1
      ? h.map(historyRow)
      : [...h.slice(0, head).map(historyRow), null, ...h.slice(-tail).map(historyRow)];
  const columns = [
    "step",
    "loss",
    ...(h.some((r) => r.validationLoss !== undefined) ? ["validation loss"] : []),
    "lr",
    "|grad|",
    "tokens",
    "tok/s",
    "ms",
  ];
  const first = h[0],
    last = h[h.length - 1];
  return rowsBundle(rows, {
    columns,
    caption: `${h.length} steps (${first.step}–${last.step}), loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}`,
    footer: rows.includes(null)
      ? `${h.length - head - tail} steps not shown: tableView(history, { limit: n }) lists them`
      : undefined,
  });
}

/** A run's result: its summary line and warnings, not its records. */
export function runResultBundle(r: RunResult): MimeBundle {
  return {
    "text/plain": [`RunResult: ${r.summary()}`, ...r.warnings.map((w) => `warning: ${w}`)].join("\n"),
    "text/html":
      `<div><b>Run</b>: ${escapeHtml(r.summary())}</div>${warningsHtml(r.warnings)}` +
      (r.length
        ? `<div style="color:#777;font-size:12px">${r.length} step records: result[i], or tableView(result)</div>`
        : ""),
  };
}

/** The live training figure with the run's warnings above it. */
function liveTrainingBundle(t: Tuner, run: TuningRun | undefined, panel?: StateNormPanel): MimeBundle {
  const warnings = run?.warnings ?? [];
  // A run with nothing to do says so, and draws no figure of old steps.
  if (run?.steps === 0) return { "text/html": warningsHtml(warnings), "text/plain": warnings.join("\n") };
  const loss = trainingFigure(t.history, { totalSteps: t.options.totalSteps, run });
  const fig = toBundle(panel ? panel.beside(loss) : loss);
  if (!warnings.length) return fig;
  return {
    ...fig,
    "text/html": warningsHtml(warnings) + String(fig["text/html"]),
    "text/plain": [...warnings.map((w) => `warning: ${w}`), String(fig["text/plain"])].join("\n"),
  };
}

let installed = false;

/** Registers the bundles and the default training view (once; later calls do nothing). */
export function installRuntimeViews(): void {
  if (installed) return;
  installed = true;
  registerFormatter(State, stateBundle);
  registerFormatter(Model, modelBundle);
  registerFormatter(Tuner, tunerBundle);
  registerFormatter(TunerStep, stepBundle);
  registerFormatter(StepHistory, historyBundle);
  registerFormatter(RunResult, runResultBundle);
  setDefaultRunObserver((tuner, opts) => {
    const run = tuner.lastRun;
    // tuner.run({ liveState: true }): every head's state norm beside the loss.
    const panel = opts.liveState ? new StateNormPanel(tuner) : undefined;
    const view = liveView(() => liveTrainingBundle(tuner, run, panel));
    view.update(); // the first frame (with any warning) before the first step's wait
    return { onStep: () => (panel?.record(), view.update()), onEnd: () => view.close() };
  });
}
