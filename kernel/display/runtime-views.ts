// How the runtime's objects look in a notebook. The runtime draws nothing itself: this file
// registers the bundles of State and Model with the display protocol and installs the live
// training view as every Tuner.run's default observer. The display layer's entry installs it.
import * as path from "node:path";
import { registerFormatter, toBundle, type MimeBundle } from "./bundle";
import { stateNorms } from "./figures/state";
import { trainingFigure } from "./figures/training";
import { escapeHtml } from "./html";
import { liveView } from "./live";
import { Model } from "../runtime/model/model";
import { State } from "../runtime/model/state";
import { setDefaultRunObserver } from "../runtime/tune/tuner";

/** A table of per-layer norms, the norm figure, and one text line per layer. */
export function stateBundle(s: State): MimeBundle {
  const norms = s.norms();
  const rows = norms.map((n) => {
    const heads = n.heads.map((x) => x.toFixed(3)).join(" ");
    const cells = [String(n.layer), n.wkv.toFixed(4), heads, n.attX.toFixed(4), n.ffnX.toFixed(4)];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  const head = ["layer", "‖wkv‖", "‖head‖", "‖att x‖", "‖ffn x‖"].map((h) => `<th>${h}</th>`).join("");
  const table = `<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
  const fig = toBundle(stateNorms(s, { title: `state: ${s.nLayer} layers × ${s.nHead} heads × ${s.headSize}²` }));
  const figHtml = typeof fig["text/html"] === "string" ? fig["text/html"] : "";
  const dims = `L=${s.nLayer} C=${s.nEmbd} H=${s.nHead} N=${s.headSize}`;
  return {
    ...fig,
    "text/html": `<div><b>State</b> ${dims}${table}${figHtml}</div>`,
    "text/plain": norms.map((n) => `layer ${n.layer}: |wkv| ${n.wkv.toFixed(4)}`).join("\n"),
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
  const tr = ([k, v]: [string, string]) =>
    `<tr><th style="text-align:left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  return {
    "text/plain": `Model(${rows.map(([k, v]) => `${k}: ${v}`).join(", ")})`,
    "text/html": `<table><tbody>${rows.map(tr).join("")}</tbody></table>`,
  };
}

let installed = false;

/** Registers the bundles and the default training view (once; later calls do nothing). */
export function installRuntimeViews(): void {
  if (installed) return;
  installed = true;
  registerFormatter(State, stateBundle);
  registerFormatter(Model, modelBundle);
  setDefaultRunObserver((tuner) => {
    const view = liveView(() => trainingFigure(tuner.history, { totalSteps: tuner.options.totalSteps }));
    return { onStep: () => view.update(), onEnd: () => view.close() };
  });
}
