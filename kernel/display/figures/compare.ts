// How far apart several states are, layer by layer (data from runtime/inspect/compare): one small
// heatmap per layer of the pairwise distances of the states' wkv matrices, on one colour scale that
// starts at zero (the diagonal: a state against itself).
import { Figure, type PlotlyTrace } from "../plotly";
import type { StateComparison } from "../../runtime/inspect/compare";

export function stateDistanceFigure(c: Pick<StateComparison, "names" | "distances">): Figure {
  const L = c.distances.length;
  const cols = Math.min(4, L),
    rows = Math.ceil(L / cols);
  const gap = 0.07;
  const w = (1 - gap * (cols - 1)) / cols,
    h = (1 - gap * 1.6 * (rows - 1)) / rows;
  const zmax = Math.max(1e-12, ...c.distances.flat(2));
  // Names label the left column and the bottom row only; long ones are slanted, and the margins fit them.
  const longest = Math.max(...c.names.map((n) => n.length));
  const slant = longest * c.names.length > 40 ? -40 : 0;
  const traces: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: "distance between the states, layer by layer: ‖S_a − S_b‖ of the layer's wkv", font: { size: 14 } },
    height: 120 + rows * Math.max(170, 50 + 28 * c.names.length) + (slant ? 4.5 * longest : 0),
    margin: { l: Math.max(90, 20 + 7 * longest), r: 30, t: 70, b: 40 + (slant ? 4.5 * longest : 0) },
    coloraxis: {
      colorscale: "Viridis",
      cmin: 0,
      cmax: zmax,
      colorbar: { title: { text: "‖S_a − S_b‖", side: "right" } },
    },
    annotations: [] as unknown[],
  };
  for (let l = 0; l < L; l++) {
    const r = Math.floor(l / cols),
      col = l % cols;
    const ax = l === 0 ? "" : String(l + 1);
    const x0 = col * (w + gap),
      y1 = 1 - r * (h + gap * 1.6);
    traces.push({
      type: "heatmap",
      x: c.names,
      y: c.names,
      z: c.distances[l],
      coloraxis: "coloraxis",
      texttemplate: "%{z:.3g}",
      hovertemplate: `layer ${l}<br>%{y} vs %{x}: %{z:.4g}<extra></extra>`,
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
    });
    layout[`xaxis${ax}`] = {
      domain: [x0, x0 + w],
      anchor: `y${ax}`,
      type: "category",
      tickangle: slant,
      showticklabels: r === rows - 1,
    };
    layout[`yaxis${ax}`] = {
      domain: [y1 - h, y1],
      anchor: `x${ax}`,
      type: "category",
      autorange: "reversed",
      showticklabels: col === 0,
    };
    (layout.annotations as unknown[]).push({
      text: `layer ${l}`,
      x: x0 + w / 2,
      y: y1,
      xref: "paper",
      yref: "paper",
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    });
  }
  return new Figure(traces, layout);
}
