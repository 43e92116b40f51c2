// A sweep through state space (data from runtime/inspect/sweep): held-out loss and the caller's
// score along the dial, dotted lines where replies were sampled, and those replies in a table below.
import { Figure, type PlotlyTrace } from "../plotly";
import type { Sweep } from "../../runtime/inspect/sweep";

const ALONG = { dial: "the alpha dial", path: "the path", interpolation: "the line between the states" };

function axisTitle(s: Sweep): string {
  if (s.kind === "dial") return `alpha: ${s.names[0]} scaled by alpha (0 = the zero state, 1 = as tuned)`;
  if (s.kind === "interpolation") return `t: (1 − t)·${s.names[0]} + t·${s.names[1]}`;
  return `position along ${s.names.join(" → ")}`;
}

const short = (p: string) => {
  const line = p.replace(/\s+$/, "").split("\n").filter(Boolean);
  return (line.find((l) => l.startsWith("User:")) ?? line[0] ?? "").slice(0, 40);
};

export function sweepFigure(s: Sweep, opts: { title?: string } = {}): Figure {
  const traces: PlotlyTrace[] = [];
  if (s.losses)
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      name: `held-out loss (${s.heldOut?.docs ?? 0} documents)`,
      x: s.xs,
      y: s.losses,
      line: { color: "rgb(31,119,180)", width: 2 },
    });
  if (s.scores)
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      name: s.scoreName,
      x: s.xs,
      y: s.scores,
      yaxis: "y2",
      line: { color: "rgb(214,39,40)", width: 2, dash: "dash" },
    });
  const table = s.generations.length > 0;
  const chartBottom = table ? 0.56 : 0;
  if (table) {
    const prompts = s.generations[0].replies.map((r) => r.prompt);
    traces.push({
      type: "table",
      domain: { x: [0, 1], y: [0, 0.33] },
      columnwidth: [1, ...prompts.map(() => 4)],
      header: {
        values: [s.kind === "dial" ? "alpha" : "t", ...prompts.map(short)],
        align: "left",
        fill: { color: "rgb(235,235,235)" },
        font: { size: 12 },
      },
      cells: {
        values: [
          s.generations.map((g) => String(g.x)),
          ...prompts.map((_, i) => s.generations.map((g) => g.replies[i].reply)),
        ],
        align: "left",
        height: 26,
        font: { size: 12 },
      },
    });
  }
  const xName = s.kind === "dial" ? "alpha" : "t";
  const what = [s.losses ? "held-out loss" : "", s.scores ? s.scoreName : ""].filter(Boolean).join(" and ");
  const pathTicks = s.kind === "path" ? { tickvals: s.names.map((_, i) => i), ticktext: s.names } : {};
  return new Figure(traces, {
    title: {
      text: opts.title ?? `${what || "replies"} along ${ALONG[s.kind]}`,
      font: { size: 14 },
    },
    height: table ? 640 + 40 * s.generations.length : 400,
    margin: { l: 70, r: 70, t: 60, b: 40 },
    xaxis: { domain: [0, 1], anchor: "y", title: { text: axisTitle(s) }, ...pathTicks },
    yaxis: { domain: [chartBottom, 1], title: { text: "held-out loss" }, visible: !!s.losses, rangemode: "tozero" },
    yaxis2: {
      overlaying: "y",
      side: "right",
      title: { text: s.scoreName },
      showgrid: false,
      visible: !!s.scores,
      rangemode: "tozero",
      tickmode: "auto",
    },
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom" },
    shapes: s.generations.map((g) => ({
      type: "line",
      xref: "x",
      yref: "paper",
      x0: g.x,
      x1: g.x,
      y0: chartBottom,
      y1: 1,
      line: { color: "rgba(100,100,100,0.5)", dash: "dot", width: 1 },
    })),
    annotations: table
      ? [
          {
            text: `replies at the dotted ${xName} values (same seed per prompt)`,
            x: 0,
            y: 0.35,
            xref: "paper",
            yref: "paper",
            xanchor: "left",
            yanchor: "bottom",
            showarrow: false,
          },
        ]
      : [],
  });
}
