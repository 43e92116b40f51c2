// The state over training (data from runtime/inspect/evolution): every head's norm and its distance
// from the final state over the steps, and one head's matrix with a slider over the steps and a
// dropdown over the heads. Slider and dropdown are plotly frames, sliders and updatemenus: they run
// in the browser from the figure's own data, so they work offline and in a static HTML export.
// Also the small live panel beside the loss while a run trains (every head's norm so far).
import { Figure, type PlotlyTrace } from "../plotly";
import { headNorms } from "./state";
import type { StateEvolution } from "../../runtime/inspect/evolution";
import type { Tuner } from "../../runtime/tune/tuner";

/** Blue below zero, white at zero, red above (ColorBrewer RdBu): zero stands out as empty. */
export const DIVERGING = [
  [0, "rgb(33,102,172)"],
  [0.25, "rgb(103,169,207)"],
  [0.5, "rgb(247,247,247)"],
  [0.75, "rgb(239,138,98)"],
  [1, "rgb(178,24,43)"],
];

/** Three significant digits: the figure carries many matrices, and the eye sees no more. */
const short = (x: number): number => Number(x.toPrecision(3));

function rowsOf(m: Float32Array, N: number): number[][] {
  return Array.from({ length: N }, (_, i) => Array.from(m.subarray(i * N, (i + 1) * N), short));
}

/** Row r = layer·H + head of a per-head heatmap: ticks per layer, hover text per cell. */
function headAxis(nLayer: number, nHead: number): Record<string, unknown> {
  const every = Math.max(1, Math.ceil(nLayer / 24));
  const layers = Array.from({ length: nLayer }, (_, l) => l).filter((l) => l % every === 0);
  return {
    title: { text: "layer · head" },
    tickvals: layers.map((l) => l * nHead + (nHead - 1) / 2),
    ticktext: layers.map((l) => `L${l}`),
    autorange: "reversed",
    zeroline: false,
  };
}

function hoverText(e: { nLayer: number; nHead: number }, steps: number[]): string[][] {
  return Array.from({ length: e.nLayer * e.nHead }, (_, r) =>
    steps.map((s) => `layer ${Math.floor(r / e.nHead)} head ${r % e.nHead}<br>step ${s}`),
  );
}

const stepMarker = (x: number, rows: number, xaxis: string, yaxis: string): PlotlyTrace => ({
  type: "scatter",
  mode: "lines",
  x: [x, x],
  y: [-0.5, rows - 0.5],
  line: { color: "rgba(255,255,255,0.9)", width: 2, dash: "dot" },
  hoverinfo: "skip",
  showlegend: false,
  xaxis,
  yaxis,
});

export function stateEvolutionFigure(e: StateEvolution, opts: { title?: string } = {}): Figure {
  const R = e.nLayer * e.nHead;
  const last = e.steps[e.steps.length - 1];
  const text = hoverText(e, e.steps);
  const overview = (z: number[][], xaxis: string, yaxis: string, what: string, colorX: number): PlotlyTrace => ({
    type: "heatmap",
    x: e.steps,
    y: Array.from({ length: R }, (_, r) => r),
    z: z.map((row) => row.map(short)),
    text,
    hovertemplate: `%{text}<br>${what} %{z:.4g}<extra></extra>`,
    colorscale: "Viridis",
    zmin: 0,
    colorbar: { x: colorX, y: 0.83, len: 0.34, thickness: 12, title: { text: what, side: "right" } },
    xaxis,
    yaxis,
  });
  // One heatmap trace per head, only the chosen one visible; each frame sets every head's matrix.
  const headTraces: PlotlyTrace[] = e.heads.map((h, i) => {
    const m = Math.max(1e-12, ...e.matrices[i].map((a) => a.reduce((s, x) => Math.max(s, Math.abs(x)), 0)));
    return {
      type: "heatmap",
      name: `layer ${h.layer} head ${h.head}`,
      z: rowsOf(e.matrices[i][e.matrices[i].length - 1], e.headSize),
      zmin: -short(m),
      zmax: short(m),
      colorscale: DIVERGING,
      visible: i === 0,
      hovertemplate: "value %{y}, key %{x}<br>S %{z:.4g}<extra></extra>",
      colorbar: { x: 0.8, y: 0.29, len: 0.5, thickness: 12, title: { text: "S[i][j]", side: "right" } },
      xaxis: "x3",
      yaxis: "y3",
    };
  });
  const markers = [stepMarker(last, R, "x", "y"), stepMarker(last, R, "x2", "y2")];
  const headIdx = headTraces.map((_, i) => 2 + i);
  const markerIdx = [2 + headTraces.length, 3 + headTraces.length];
  const frames = e.frameSteps.map((step, f) => ({
    name: `step ${step}`,
    data: [...e.matrices.map((m) => ({ z: rowsOf(m[f], e.headSize) })), { x: [step, step] }, { x: [step, step] }],
    traces: [...headIdx, ...markerIdx],
  }));
  const headTitle = (h: { layer: number; head: number }) =>
    `layer ${h.layer}, head ${h.head}: S[value i][key j] at the step on the slider`;
  const heads = e.heads;
  const picked = heads.length < R ? ` (the ${heads.length} of ${R} heads that changed most)` : "";
  const fig = new Figure(
    [
      overview(e.norms, "x", "y", "‖S‖", 0.415),
      overview(e.fromFinal, "x2", "y2", "‖S − S_final‖", 0.97),
      ...headTraces,
      ...markers,
    ],
    {
      title: {
        text: opts.title ?? `the state over training: steps 0–${last} (${e.steps.length} kept)${picked}`,
        font: { size: 15 },
      },
      width: 940,
      height: 1000,
      showlegend: false,
      margin: { l: 70, r: 40, t: 70, b: 40 },
      xaxis: { domain: [0, 0.4], anchor: "y", title: { text: "step" } },
      yaxis: { domain: [0.66, 1], anchor: "x", ...headAxis(e.nLayer, e.nHead) },
      xaxis2: { domain: [0.55, 0.95], anchor: "y2", title: { text: "step" } },
      yaxis2: { domain: [0.66, 1], anchor: "x2", ...headAxis(e.nLayer, e.nHead), title: { text: "" } },
      xaxis3: { domain: [0.3, 0.76], anchor: "y3", title: { text: "key channel j" }, constrain: "domain" },
      yaxis3: {
        domain: [0.1, 0.54],
        anchor: "x3",
        title: { text: "value channel i" },
        autorange: "reversed",
        scaleanchor: "x3",
        constrain: "domain",
      },
      annotations: [
        {
          text: "norm of each head's matrix",
          x: 0.2,
          y: 1.035,
          xref: "paper",
          yref: "paper",
          showarrow: false,
          xanchor: "center",
        },
        {
          text: "distance of each head from its final state",
          x: 0.75,
          y: 1.035,
          xanchor: "center",
          xref: "paper",
          yref: "paper",
          showarrow: false,
        },
        {
          text: heads.length ? headTitle(heads[0]) : "",
          x: 0.53,
          y: 0.585,
          xanchor: "center",
          xref: "paper",
          yref: "paper",
          showarrow: false,
          font: { size: 13 },
        },
      ],
      updatemenus: [
        {
          type: "dropdown",
          x: 0,
          y: 0.555,
          xanchor: "left",
          yanchor: "top",
          showactive: true,
          active: 0,
          buttons: heads.map((h, i) => ({
            label: `layer ${h.layer}, head ${h.head}`,
            method: "update",
            args: [{ visible: heads.map((_, j) => j === i) }, { "annotations[2].text": headTitle(h) }, headIdx],
          })),
        },
      ],
      sliders: [
        {
          active: e.frameSteps.length - 1,
          x: 0.05,
          len: 0.9,
          y: 0.02,
          yanchor: "top",
          pad: { t: 30 },
          currentvalue: { prefix: "step ", xanchor: "left", font: { size: 13 } },
          steps: e.frameSteps.map((step) => ({
            label: String(step),
            method: "animate",
            args: [
              [`step ${step}`],
              { mode: "immediate", frame: { duration: 0, redraw: true }, transition: { duration: 0 } },
            ],
          })),
        },
      ],
    },
    { responsive: true },
  );
  fig.frames = frames;
  return fig;
}

/** The live panel: every head's norm at every step so far, recorded from the tuner after each step. */
export class StateNormPanel {
  private readonly steps: number[] = [];
  private readonly columns: number[][] = [];
  constructor(private readonly tuner: Tuner) {
    this.record();
  }

  /** Adds the current step's norms (called after each step). */
  record(): void {
    const s = this.tuner.state;
    if (this.steps[this.steps.length - 1] === this.tuner.steps) return;
    this.steps.push(this.tuner.steps);
    this.columns.push(headNorms(s).flat());
  }

  /** `fig` (the loss) on the left, the norm heatmap on the right. */
  beside(fig: Figure): Figure {
    const { nLayer, nHead } = this.tuner.model.config;
    const R = nLayer * nHead;
    const z = Array.from({ length: R }, (_, r) => this.columns.map((c) => short(c[r])));
    const layout = { ...fig.layout } as Record<string, unknown>;
    layout.xaxis = { ...(layout.xaxis as object), domain: [0, 0.55] };
    layout.xaxis9 = { domain: [0.68, 0.92], anchor: "y9", title: { text: "step" } };
    layout.yaxis9 = { anchor: "x9", ...headAxis(nLayer, nHead), title: { text: "layer · head" } };
    layout.annotations = [
      ...((layout.annotations as unknown[]) ?? []),
      {
        text: "state norm of each head",
        x: 0.8,
        y: 1.0,
        xanchor: "center",
        yanchor: "bottom",
        xref: "paper",
        yref: "paper",
        showarrow: false,
      },
    ];
    const heat: PlotlyTrace = {
      type: "heatmap",
      x: this.steps,
      y: Array.from({ length: R }, (_, r) => r),
      z,
      text: hoverText({ nLayer, nHead }, this.steps),
      hovertemplate: "%{text}<br>‖S‖ %{z:.4g}<extra></extra>",
      colorscale: "Viridis",
      zmin: 0,
      colorbar: { x: 0.94, thickness: 10, title: { text: "‖S‖", side: "right" } },
      xaxis: "x9",
      yaxis: "y9",
      showlegend: false,
    };
    return new Figure([...fig.data, heat], layout, fig.config);
  }
}
