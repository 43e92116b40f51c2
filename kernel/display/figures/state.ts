// Pictures of a recurrent state: one head's wkv matrix, the change between two states, and the
// size of every layer's and head's matrix. They read the state through `WkvState`, so any object
// with the wkv array and its dimensions (a tuner's state, a mounted state file) can be drawn.
import { Figure } from "../plotly";
import { figureTitle } from "./layout";
import { DIVERGING, SEQUENTIAL, TRACE_COLORS } from "../colors";
import { l2Norm } from "../../runtime/math";
import type { WkvState } from "../../runtime/model/state";

export type { WkvState };

function checkHead(s: WkvState, layer: number, head: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= s.nLayer)
    throw new RangeError(`layer ${layer} is out of range: the state has ${s.nLayer} layers (0..${s.nLayer - 1})`);
  if (!Number.isInteger(head) || head < 0 || head >= s.nHead)
    throw new RangeError(`head ${head} is out of range: the state has ${s.nHead} heads per layer (0..${s.nHead - 1})`);
}

/** Rows of one head's N×N matrix: rows = value channel, columns = key channel. */
export function headMatrix(s: WkvState, layer: number, head: number): number[][] {
  checkHead(s, layer, head);
  const N = s.headSize,
    base = (layer * s.nHead + head) * N * N;
  // 4 significant digits: what a colour or a hover can show, and a third of the JSON of full floats.
  return Array.from({ length: N }, (_, i) =>
    Array.from(s.wkv.subarray(base + i * N, base + (i + 1) * N), (v) => Number(v.toPrecision(4))),
  );
}

const shapeOf = (s: WkvState): string => `[${s.nLayer},${s.nHead},${s.headSize},${s.headSize}]`;

function sameShape(a: WkvState, b: WkvState): void {
  if (a.nLayer !== b.nLayer || a.nHead !== b.nHead || a.headSize !== b.headSize)
    throw new Error(`states differ in shape: ${shapeOf(a)} vs ${shapeOf(b)}`);
}

function maxAbs(rows: number[][]): number {
  let m = 0;
  for (const r of rows) for (const v of r) m = Math.max(m, Math.abs(v));
  return m || 1;
}

/** Integer ticks 0..n-1 at a round step (1, 2, 4, 5, 8, 10, 16, …), at most about 12 of them. */
function indexAxis(n: number, title: string): Record<string, unknown> {
  const round = [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 256, 512, 1024];
  const step = round.find((s) => s >= n / 12) ?? Math.ceil(n / 12);
  return {
    title: { text: title },
    tickmode: "array",
    tickvals: Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step),
  };
}

function heatmap(z: number[][], title: string, subtitle: string, colorbar: string): Figure {
  const m = maxAbs(z);
  const N = z.length;
  return new Figure(
    [
      {
        type: "heatmap",
        z,
        x: z[0].map((_, j) => j),
        y: z.map((_, i) => i),
        zmin: -m,
        zmax: m,
        colorscale: DIVERGING,
        colorbar: { title: { text: colorbar } },
        hovertemplate: "value channel i=%{y}<br>key channel j=%{x}<br>%{z:.4g}<extra></extra>",
      },
    ],
    {
      title: figureTitle(title, subtitle),
      height: 500,
      width: 580,
      xaxis: { ...indexAxis(N, "key channel j"), constrain: "domain" },
      yaxis: { ...indexAxis(N, "value channel i"), autorange: "reversed", scaleanchor: "x" },
      margin: { l: 70, r: 20, t: 80, b: 60 },
    },
  );
}

/** One head's wkv matrix S[i][j] as a diverging heatmap centred on zero. */
export function stateHeatmap(s: WkvState, opts: { layer?: number; head?: number; name?: string } = {}): Figure {
  const layer = opts.layer ?? 0,
    head = opts.head ?? 0;
  const what = opts.name ? `${opts.name}: ` : "";
  return heatmap(
    headMatrix(s, layer, head),
    `${what}wkv state of layer ${layer}, head ${head}`,
    "blue: negative, red: positive; rows: value channel, columns: key channel",
    "S[i][j]",
  );
}

export interface StateDiffOptions {
  layer?: number;
  head?: number;
  /** Names of the two states (default: "zero state" for an all-zero one, else "first"/"second"). */
  names?: [string, string];
}

const isZero = (s: WkvState): boolean => s.wkv.every((x) => x === 0);

/** b − a for one head; without `layer`/`head`, the head whose matrix changed most. */
export function stateDiff(a: WkvState, b: WkvState, opts: StateDiffOptions = {}): Figure {
  sameShape(a, b);
  const [nameA, nameB] = opts.names ?? [
    isZero(a) ? "zero state" : "first state",
    isZero(b) ? "zero state" : "second state",
  ];
  const d: WkvState = { nLayer: b.nLayer, nHead: b.nHead, headSize: b.headSize, wkv: difference(a, b) };
  let layer = opts.layer ?? 0,
    head = opts.head ?? 0;
  const chosen = opts.layer === undefined || opts.head === undefined;
  if (chosen) {
    let best = -1;
    headNorms(d).forEach((row, l) =>
      row.forEach((v, h) => {
        if ((opts.layer ?? l) === l && (opts.head ?? h) === h && v > best) {
          best = v;
          layer = l;
          head = h;
        }
      }),
    );
  }
  const why = chosen ? " (the head that changed most)" : "";
  return heatmap(
    headMatrix(d, layer, head),
    `${nameB} − ${nameA}: layer ${layer}, head ${head}${why}`,
    `red: larger in ${nameB}, blue: smaller; rows: value channel, columns: key channel`,
    "Δ S[i][j]",
  );
}

function difference(a: WkvState, b: WkvState): Float32Array {
  const out = new Float32Array(a.wkv.length);
  for (let i = 0; i < out.length; i++) out[i] = b.wkv[i] - a.wkv[i];
  return out;
}

/** Frobenius norm of every head's matrix: [layer][head]. */
export function headNorms(s: WkvState): number[][] {
  const NN = s.headSize * s.headSize;
  return Array.from({ length: s.nLayer }, (_, l) =>
    Array.from({ length: s.nHead }, (_, h) =>
      l2Norm(s.wkv.subarray((l * s.nHead + h) * NN, (l * s.nHead + h + 1) * NN)),
    ),
  );
}

/** Norms by layer and head (a heatmap from zero) with the per-layer norm as a bar chart beside it. */
export function stateNorms(s: WkvState, opts: { title?: string } = {}): Figure {
  const z = headNorms(s);
  const layers = z.map((_, l) => l);
  const zmax = Math.max(...z.flat()) || 1;
  return new Figure(
    [
      {
        type: "heatmap",
        z,
        x: z[0].map((_, h) => h),
        y: layers,
        zmin: 0,
        zmax,
        colorscale: SEQUENTIAL,
        colorbar: { title: { text: "‖S‖" }, x: 0.6, len: 1 },
        // The values in the cells, while the cells are big enough to hold them.
        ...(s.nHead <= 16 && s.nLayer <= 32 ? { texttemplate: "%{z:.1f}" } : {}),
        hovertemplate: "layer %{y}, head %{x}<br>‖S‖ = %{z:.4g}<extra></extra>",
        xaxis: "x",
        yaxis: "y",
      },
      {
        type: "bar",
        orientation: "h",
        y: layers,
        x: z.map(l2Norm),
        name: "layer norm",
        xaxis: "x2",
        yaxis: "y",
        marker: { color: TRACE_COLORS[0] },
        hovertemplate: "layer %{y}: ‖wkv‖ = %{x:.4g}<extra></extra>",
      },
    ],
    {
      title: figureTitle(
        opts.title ?? "state norm by layer and head",
        "‖S‖: Frobenius norm of each head's matrix (colour scale from 0)",
      ),
      height: 170 + 26 * s.nLayer,
      showlegend: false,
      xaxis: { ...indexAxis(s.nHead, "head"), domain: [0, 0.54] },
      xaxis2: { domain: [0.72, 1], title: { text: "‖wkv‖ of the layer" }, rangemode: "tozero" },
      yaxis: { ...indexAxis(s.nLayer, "layer"), autorange: "reversed" },
      margin: { l: 60, r: 20, t: 80, b: 50 },
    },
  );
}
