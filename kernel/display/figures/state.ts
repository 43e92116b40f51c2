// Pictures of a recurrent state: one head's wkv matrix, the change between two states, and the
// size of every layer's and head's matrix. They read the state through `WkvState`, so any object
// with the wkv array and its dimensions (a tuner's state, a mounted state file) can be drawn.
import { Figure } from "../plotly";
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
  return Array.from({ length: N }, (_, i) => Array.from(s.wkv.subarray(base + i * N, base + (i + 1) * N)));
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

function heatmap(z: number[][], title: string, colorbar: string): Figure {
  const m = maxAbs(z);
  return new Figure(
    [
      {
        type: "heatmap",
        z,
        zmin: -m,
        zmax: m,
        colorscale: "RdBu",
        reversescale: true,
        colorbar: { title: { text: colorbar } },
      },
    ],
    {
      title: { text: title, font: { size: 14 } },
      height: 460,
      width: 520,
      xaxis: { title: { text: "key channel j" } },
      yaxis: { title: { text: "value channel i" }, autorange: "reversed", scaleanchor: "x" },
      margin: { l: 60, r: 20, t: 50, b: 50 },
    },
  );
}

/** One head's wkv matrix S[i][j] as a diverging heatmap centred on zero. */
export function stateHeatmap(s: WkvState, opts: { layer?: number; head?: number } = {}): Figure {
  const layer = opts.layer ?? 0,
    head = opts.head ?? 0;
  return heatmap(headMatrix(s, layer, head), `wkv state, layer ${layer}, head ${head}`, "S[i][j]");
}

/** b − a for one head; without `layer`/`head`, the head whose matrix changed most. */
export function stateDiff(a: WkvState, b: WkvState, opts: { layer?: number; head?: number } = {}): Figure {
  sameShape(a, b);
  const d: WkvState = { nLayer: b.nLayer, nHead: b.nHead, headSize: b.headSize, wkv: difference(a, b) };
  let layer = opts.layer ?? 0,
    head = opts.head ?? 0;
  if (opts.layer === undefined || opts.head === undefined) {
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
  return heatmap(headMatrix(d, layer, head), `state change (b − a), layer ${layer}, head ${head}`, "Δ S[i][j]");
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

/** Norms by layer and head (a heatmap) with the per-layer norm as a bar chart beside it. */
export function stateNorms(s: WkvState, opts: { title?: string } = {}): Figure {
  const z = headNorms(s);
  const layers = z.map((_, l) => l);
  return new Figure(
    [
      {
        type: "heatmap",
        z,
        x: z[0].map((_, h) => h),
        y: layers,
        colorscale: "Viridis",
        colorbar: { title: { text: "‖S‖" }, x: 0.62 },
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
        marker: { color: "rgb(31,119,180)" },
      },
    ],
    {
      title: { text: opts.title ?? "state norm by layer and head", font: { size: 14 } },
      height: 120 + 28 * s.nLayer,
      showlegend: false,
      xaxis: { domain: [0, 0.6], title: { text: "head" } },
      xaxis2: { domain: [0.72, 1], title: { text: "layer norm" } },
      yaxis: { title: { text: "layer" }, autorange: "reversed", dtick: 1 },
      margin: { l: 60, r: 20, t: 50, b: 50 },
    },
  );
}
