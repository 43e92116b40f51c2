// Figures of a state trajectory and of next-token distributions (data from runtime/inspect).
// Tokens appear as their visible labels (␣, ⏎, \xNN), escaped for plotly's HTML-like text.
import { Figure } from "../plotly";
import { figureTitle } from "./layout";
import { SEQUENTIAL, TRACE_COLORS } from "../colors";
import type { Trajectory } from "../../runtime/inspect/trajectory";
import type { NextTokenComparison } from "../../runtime/inspect/next-token";

/** Text for plotly labels: its text is HTML-like, so <, > and & must be entities. */
const plain = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const quote = (s: string) => `“${plain(s)}”`;

/**
 * Tick labels on a token axis of about `widthPx`: every token when they fit (a one-character label
 * needs about 11 px, a turned longer one 14 px), else every k-th, and an axis title that says which.
 */
function tokenAxis(labels: string[], title: string, widthPx = 800): Record<string, unknown> {
  const perLabel = labels.every((l) => [...l].length <= 1) ? 11 : 14;
  const step = Math.max(1, Math.ceil(labels.length / Math.floor(widthPx / perLabel)));
  const vals = labels.map((_, i) => i).filter((i) => i % step === 0);
  const every = step === 2 ? "2nd" : step === 3 ? "3rd" : `${step}th`;
  return {
    tickmode: "array",
    tickvals: vals,
    ticktext: vals.map((i) => plain(labels[i])),
    title: { text: step === 1 ? title : title ? `${title} (every ${every} labelled)` : `every ${every} labelled` },
  };
}

export function trajectoryFigure(t: Trajectory): Figure {
  const steps = t.labels.map((_, i) => i);
  const hover = t.labels.map((s, i) => `token ${i}: ${plain(s)}`);
  return new Figure(
    [
      ...t.normsByLayer.map((n, l) => ({
        type: "scatter",
        mode: "lines",
        name: `layer ${l}`,
        x: steps,
        y: n,
        text: hover,
        hoverinfo: "text+y+name",
        line: { color: TRACE_COLORS[l % TRACE_COLORS.length], width: 1.5 },
        xaxis: "x",
        yaxis: "y",
      })),
      {
        type: "scatter",
        mode: "lines+markers",
        name: `layer ${t.layer}, projected`,
        showlegend: false,
        x: t.projection.map((p) => p[0]),
        y: t.projection.map((p) => p[1]),
        text: hover,
        hoverinfo: "text",
        marker: {
          color: steps,
          colorscale: SEQUENTIAL,
          size: 7,
          showscale: true,
          colorbar: { title: { text: "token" }, len: 0.42, y: 0, yanchor: "bottom", x: 0.8 },
        },
        line: { color: "rgba(120,120,120,0.4)" },
        xaxis: "x2",
        yaxis: "y2",
      },
    ],
    {
      title: figureTitle(
        "the state while the model reads the text",
        `top: the size of each layer's state after each token<br>below: layer ${t.layer}'s state after ` +
          `each token, on its two main directions of change (dark: early, yellow: late)`,
      ),
      // The token axis gets the full width (its labels are the text being read), the projection a
      // square-ish panel below it.
      height: 820,
      xaxis: { anchor: "y", ...tokenAxis(t.labels, "token") },
      yaxis: { domain: [0.62, 1], title: { text: "‖wkv‖ of the layer" }, rangemode: "tozero" },
      xaxis2: {
        anchor: "y2",
        domain: [0.2, 0.75],
        title: { text: `direction 1 (${(100 * t.explained[0]).toFixed(0)}% of the change)` },
      },
      yaxis2: {
        anchor: "x2",
        domain: [0, 0.42],
        title: { text: `direction 2 (${(100 * t.explained[1]).toFixed(0)}%)` },
      },
      margin: { l: 60, r: 30, t: 90, b: 60 },
    },
  );
}

/**
 * Where along an answer the states' next-token predictions part (top, one bar per answer token)
 * and, at the position compared, each state's probabilities of the likeliest tokens (bottom).
 */
export function nextTokenFigure(c: NextTokenComparison): Figure {
  const several = c.labels.length > 1;
  const at = c.answer[c.position];
  const where = `answer token ${c.position + 1} of ${c.answer.length} (${quote(at.label)})`;
  const names = c.labels.join(" and ");
  const title = !several
    ? `next token at ${where}`
    : c.chosen === "most different"
      ? `where ${names} part: ${where}`
      : `${names} at ${where}`;
  const answer = c.answer.map((a) => a.label).join("");
  const subtitle =
    `after ${quote(`…${c.context}`)}; answer ${c.answerFrom === "given" ? "given" : `(${c.answerFrom}, greedy)`}: ` +
    quote(answer.length > 60 ? `${answer.slice(0, 60)}…` : answer);
  const bars = c.labels.map((label, s) => ({
    type: "bar",
    name: label,
    x: c.tokens.map((t) => plain(t.label)),
    y: c.probabilities[s],
    marker: { color: TRACE_COLORS[s % TRACE_COLORS.length] },
    hovertemplate: `${plain(label)}: %{x} %{y:.3f}<extra></extra>`,
    xaxis: "x",
    yaxis: "y",
  }));
  const divergence = {
    type: "bar",
    name: "divergence",
    showlegend: false,
    x: c.answer.map((_, i) => i),
    y: c.divergence,
    marker: { color: c.answer.map((_, i) => (i === c.position ? "#d62728" : "#9aa5b1")) },
    customdata: c.answer.map((a, i) => `answer token ${i + 1}: ${plain(a.label)}`),
    hovertemplate: "%{customdata}<br>JS divergence %{y:.3f} bits<extra></extra>",
    xaxis: "x2",
    yaxis: "y2",
  };
  // Each panel gets a heading just above it (an x-axis title of the top panel would read as the
  // bottom panel's heading).
  const heading = (y: number, text: string) => ({
    xref: "paper",
    yref: "paper",
    x: 0,
    y,
    xanchor: "left",
    yanchor: "bottom",
    showarrow: false,
    font: { size: 12, color: "#444" },
    text,
  });
  return new Figure(several ? [...bars, divergence] : bars, {
    title: figureTitle(title, subtitle),
    height: several ? 660 : 400,
    barmode: "group",
    margin: { l: 70, r: 30, t: several ? 110 : 90, b: 70 },
    yaxis: { title: { text: "probability" }, range: [0, 1], domain: several ? [0, 0.5] : [0, 1] },
    xaxis: { title: { text: "next token" }, type: "category", automargin: true },
    ...(several
      ? {
          yaxis2: { title: { text: "difference (bits)" }, domain: [0.74, 1], anchor: "x2", rangemode: "tozero" },
          xaxis2: {
            anchor: "y2",
            ...tokenAxis(
              c.answer.map((a) => a.label),
              "",
            ),
          },
          annotations: [
            heading(
              1.01,
              "how differently the states predict each answer token (Jensen–Shannon divergence; red: below)",
            ),
            heading(0.51, `each state's likeliest tokens at ${where}`),
          ],
        }
      : {}),
    legend: { orientation: "h", y: -0.18 },
  });
}
