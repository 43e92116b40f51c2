// The stability probe (data from runtime/inspect/persistence): how far the tuned model's next-token
// distribution stays from the base model's along a text, how fast each layer's and head's state
// difference decays, and how much the loss rises when one layer's tuned state is zeroed.
import { Figure, type PlotlyTrace } from "../plotly";
import { smoothed } from "./training";
import type { Persistence } from "../../runtime/inspect/persistence";

const show = (s: string) => JSON.stringify(s).slice(1, -1);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

export function persistenceFigure(p: Persistence, opts: { title?: string } = {}): Figure {
  const T = p.kl.length;
  const xs = p.kl.map((_, t) => t);
  const hover = p.tokens.map((s, t) => `token ${t}: ${show(s)}`);
  const traces: PlotlyTrace[] = [
    {
      type: "scatter",
      mode: "lines",
      name: "KL per token",
      showlegend: false,
      x: xs,
      y: p.kl,
      text: hover,
      hovertemplate: "%{text}<br>KL %{y:.4g}<extra></extra>",
      line: { color: "rgba(31,119,180,0.35)", width: 1 },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "KL (smoothed)",
      showlegend: false,
      x: xs,
      y: smoothed(p.kl, 0.9),
      hoverinfo: "skip",
      line: { color: "rgb(31,119,180)", width: 2 },
    },
  ];
  p.remaining.forEach((r, l) =>
    traces.push({
      type: "scatter",
      mode: "lines",
      name: `layer ${l}`,
      x: xs,
      y: r,
      xaxis: "x2",
      yaxis: "y2",
      line: { color: COLORS[l % COLORS.length], width: 1.5 },
      legendgroup: "layers",
      hovertemplate: `layer ${l}, token %{x}: %{y:.3f} of the start<extra></extra>`,
    }),
  );
  const z = p.halfLife.map((row) => row.map((h) => h ?? T));
  traces.push({
    type: "heatmap",
    z,
    x: p.halfLife[0].map((_, h) => `head ${h}`),
    y: p.halfLife.map((_, l) => `layer ${l}`),
    text: p.halfLife.map((row) => row.map((h) => (h === null ? `> ${T}` : String(h)))),
    texttemplate: "%{text}",
    hovertemplate: "%{y}, %{x}: half-life %{text} tokens<extra></extra>",
    colorscale: "Viridis",
    zmin: 0,
    zmax: T,
    colorbar: { x: 1.0, y: 0.47, len: 0.3, thickness: 12, title: { text: "tokens", side: "right" } },
    xaxis: "x3",
    yaxis: "y3",
    showlegend: false,
  });
  const a = p.ablation;
  traces.push({
    type: "bar",
    name: "loss change",
    x: a.layers.map((l) => `layer ${l.layer}`),
    y: a.layers.map((l) => l.delta),
    text: a.layers.map((l) => `${l.delta >= 0 ? "+" : ""}${l.delta.toFixed(3)}`),
    textposition: "outside",
    marker: { color: "rgb(148,103,189)" },
    xaxis: "x4",
    yaxis: "y4",
    showlegend: false,
    hovertemplate: "%{x} zeroed: loss %{customdata:.4f} (%{text})<extra></extra>",
    customdata: a.layers.map((l) => l.loss),
  });
  const note = (text: string, x: number, y: number) => ({
    text,
    x,
    y,
    xref: "paper",
    yref: "paper",
    xanchor: "center",
    yanchor: "bottom",
    showarrow: false,
    font: { size: 13 },
  });
  return new Figure(traces, {
    title: { text: opts.title ?? `how long the tuned state lasts: ${T} tokens of text`, font: { size: 15 } },
    height: 980,
    margin: { l: 70, r: 40, t: 80, b: 50 },
    legend: { x: 0.55, xanchor: "right", y: 0.6, yanchor: "top", bgcolor: "rgba(255,255,255,0.7)" },
    xaxis: { domain: [0, 1], anchor: "y", title: { text: "token position in the text" } },
    yaxis: { domain: [0.76, 1], title: { text: "KL, nats" }, rangemode: "tozero" },
    xaxis2: { domain: [0, 0.55], anchor: "y2", title: { text: "token position" } },
    yaxis2: { domain: [0.34, 0.6], anchor: "x2", title: { text: "share left" }, rangemode: "tozero" },
    xaxis3: { domain: [0.68, 0.95], anchor: "y3" },
    yaxis3: { domain: [0.34, 0.6], anchor: "x3", autorange: "reversed" },
    xaxis4: { domain: [0, 1], anchor: "y4" },
    yaxis4: { domain: [0, 0.2], anchor: "x4", title: { text: "Δ loss" }, zeroline: true },
    shapes: [
      {
        type: "line",
        xref: "x2",
        yref: "y2",
        x0: 0,
        x1: T - 1,
        y0: 0.5,
        y1: 0.5,
        line: { dash: "dot", color: "#999" },
      },
    ],
    annotations: [
      note(
        "KL(tuned ‖ base) of the next-token distributions after each token (light: each token, dark: smoothed)",
        0.5,
        1.01,
      ),
      note("each layer's state difference ‖S_tuned − S_base‖, share of its start (dotted: half)", 0.27, 0.61),
      note("half-life of each head's difference", 0.815, 0.61),
      note(
        `zeroing one layer's tuned state: loss change on ${a.on} ` +
          `(tuned ${a.tuned.toFixed(3)}, base ${a.base.toFixed(3)})`,
        0.5,
        0.22,
      ),
    ],
  });
}
