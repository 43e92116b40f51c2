// The fidelity meter of prompt compilation (data from runtime/tune/compile-prompt): how far the
// state's next-token distributions are from the prompted model's (KL, log scale: it falls by orders
// of magnitude), against the model with no prompt and the warm start, with the top-1 agreement and
// the tokens every conversation saves in the title.
import { Figure, type PlotlyTrace } from "../plotly";
import type { CompileProgress } from "../../runtime/tune/compile-prompt";

const show = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s).slice(1, -1);
const pct = (x: number) => `${(100 * x).toFixed(x > 0.999 && x < 1 ? 2 : 1)}%`;
const kl = (x: number) => (x >= 0.01 ? x.toFixed(3) : x.toExponential(2));

/** Two lines: what is compiled and how far; how faithful the best state is and what it saves. */
export function fidelityTitle(p: CompileProgress): string {
  const last = p.history[p.history.length - 1];
  const f = p.best.fidelity;
  return (
    `compiling "${show(p.prompt)}" into a state (from ${p.start === "zero" ? "zeros" : "the prompt's wkv"}) · ` +
    `step ${last?.step ?? 0}/${p.totalSteps}<br>` +
    `held-out KL ${kl(f.kl)} nats/token (no prompt: ${kl(p.zero.kl)}, warm start: ${kl(p.warm.kl)}) · ` +
    `top-1 agreement ${pct(f.top1)} · saves ${p.promptTokens} tokens per conversation`
  );
}

export function fidelityFigure(p: CompileProgress): Figure {
  const from = p.start === "zero" ? p.zero : p.warm;
  const evals = p.history.filter((r) => r.heldOut);
  const xs = [0, ...evals.map((r) => r.step)];
  const end = Math.max(1, p.totalSteps);
  const level = (y: number, name: string, color: string, dash: string): PlotlyTrace => ({
    type: "scatter",
    mode: "lines",
    name,
    x: [0, end],
    y: [y, y],
    line: { color, dash, width: 1.5 },
    hovertemplate: `${name}: %{y:.3e}<extra></extra>`,
  });
  const positive = (y: number) => (y > 0 ? y : null);
  const traces: PlotlyTrace[] = [
    level(p.zero.kl, "no prompt (zero state)", "rgb(214,39,40)", "dash"),
    level(p.warm.kl, "warm start (the prompt's wkv, shifts dropped)", "rgb(127,127,127)", "dot"),
    {
      type: "scatter",
      mode: "lines",
      name: "training batch KL",
      x: p.history.map((r) => r.step),
      y: p.history.map((r) => positive(r.kl)),
      line: { color: "rgba(31,119,180,0.35)", width: 1 },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "held-out KL",
      x: xs,
      y: [from.kl, ...evals.map((r) => r.heldOut!.kl)].map(positive),
      line: { color: "rgb(31,119,180)", width: 2 },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "top-1 agreement (held out)",
      x: xs,
      y: [from.top1, ...evals.map((r) => r.heldOut!.top1)].map((x) => 100 * x),
      xaxis: "x2",
      yaxis: "y2",
      line: { color: "rgb(44,160,44)", width: 1.5 },
      marker: { symbol: "diamond" },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "top-1 agreement with no prompt",
      x: [0, end],
      y: [100 * p.zero.top1, 100 * p.zero.top1],
      xaxis: "x2",
      yaxis: "y2",
      line: { color: "rgb(214,39,40)", width: 1.5, dash: "dash" },
      showlegend: false,
      hovertemplate: "no prompt: %{y:.2f}%<extra></extra>",
    },
  ];
  return new Figure(traces, {
    title: { text: fidelityTitle(p), font: { size: 13 } },
    height: 560,
    margin: { l: 80, r: 30, t: 75, b: 90 },
    xaxis: { anchor: "y", range: [0, end], showticklabels: false },
    yaxis: {
      domain: [0.36, 1],
      title: { text: "KL(prompted ‖ state)<br>nats/token" },
      type: "log",
      exponentformat: "power",
    },
    xaxis2: { anchor: "y2", matches: "x", title: { text: "compile step" } },
    yaxis2: {
      domain: [0, 0.26],
      title: { text: "top-1 agreement, %" },
      range: [Math.min(100 * p.zero.top1, 100 * p.warm.top1) - 1, 100.5],
    },
    legend: { orientation: "h", x: 0, y: -0.14, yanchor: "top" },
  });
}
