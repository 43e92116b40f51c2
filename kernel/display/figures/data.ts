// Figures of training data: how long the documents are (the ctxLen to choose depends on it).
import { Figure } from "../plotly";
import { TRACE_COLORS } from "../colors";
import { figureTitle } from "./layout";
import type { LengthHistogram } from "../../runtime/data/dataset";

export function lengthsFigure(h: LengthHistogram, opts: { title?: string } = {}): Figure {
  const docs = h.counts.reduce((a, b) => a + b, 0);
  return new Figure(
    [
      {
        type: "bar",
        x: h.counts.map((_, i) => (h.edges[i] + h.edges[i + 1]) / 2),
        y: h.counts,
        width: h.counts.map((_, i) => (h.edges[i + 1] - h.edges[i]) * 0.95),
        marker: { color: TRACE_COLORS[0] },
        customdata: h.counts.map((_, i) => `${Math.ceil(h.edges[i])}–${Math.floor(h.edges[i + 1])} tokens`),
        hovertemplate: "%{customdata}: %{y} documents<extra></extra>",
      },
    ],
    {
      title: figureTitle(
        opts.title ?? "document lengths",
        `${docs.toLocaleString("en-US")} documents, ${h.min}–${h.max} tokens, mean ${h.mean.toFixed(1)}`,
      ),
      height: 340,
      margin: { l: 70, r: 30, t: 70, b: 55 },
      xaxis: { title: { text: "tokens in the document" } },
      yaxis: { title: { text: "documents" } },
    },
  );
}
