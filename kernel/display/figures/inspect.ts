// Figures of a state trajectory and of next-token distributions (data from runtime/inspect).
import { Figure } from "../plotly";
import type { Trajectory } from "../../runtime/inspect/trajectory";
import type { NextTokenDistribution } from "../../runtime/inspect/next-token";

const show = (s: string) => JSON.stringify(s).slice(1, -1);

export function trajectoryFigure(t: Trajectory): Figure {
  const steps = t.tokens.map((_, i) => i);
  const labels = t.tokens.map((s, i) => `${i}: ${show(s)}`);
  return new Figure(
    [
      ...t.normsByLayer.map((n, l) => ({
        type: "scatter",
        mode: "lines",
        name: `layer ${l}`,
        x: steps,
        y: n,
        text: labels,
        hoverinfo: "text+y",
        xaxis: "x",
        yaxis: "y",
      })),
      {
        type: "scatter",
        mode: "lines+markers",
        name: `layer ${t.layer} (PCA)`,
        x: t.projection.map((p) => p[0]),
        y: t.projection.map((p) => p[1]),
        text: labels,
        hoverinfo: "text",
        marker: { color: steps, colorscale: "Viridis", size: 6, showscale: false },
        line: { color: "rgba(120,120,120,0.4)" },
        xaxis: "x2",
        yaxis: "y2",
      },
    ],
    {
      title: { text: "state while reading the text", font: { size: 14 } },
      height: 420,
      xaxis: { domain: [0, 0.55], title: { text: "token" } },
      yaxis: { title: { text: "‖wkv‖ per layer" } },
      xaxis2: { domain: [0.65, 1], title: { text: `PC1 (${(100 * t.explained[0]).toFixed(0)}%)` } },
      yaxis2: { anchor: "x2", title: { text: `PC2 (${(100 * t.explained[1]).toFixed(0)}%)` } },
      legend: { orientation: "h", y: -0.2 },
      margin: { l: 60, r: 20, t: 50, b: 50 },
    },
  );
}

export function nextTokenFigure(prompt: string, d: NextTokenDistribution[]): Figure {
  return new Figure(
    d.map((x) => ({ type: "bar", name: x.label, x: x.top.map((t) => show(t.token)), y: x.top.map((t) => t.p) })),
    {
      title: { text: `next token after ${show(prompt.slice(-40))}`, font: { size: 14 } },
      height: 380,
      barmode: "group",
      yaxis: { title: { text: "probability" }, range: [0, 1] },
      xaxis: { title: { text: "token" }, type: "category" },
    },
  );
}
