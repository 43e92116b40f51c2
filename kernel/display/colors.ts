// Colours of the figures, given to plotly.js as explicit arrays so that the static SVG draws the
// same colours: the default trace colours, a sequential scale (viridis) for sizes and a diverging
// scale (blue below zero, white at zero, red above) for signed values and changes.

export type ColorScale = [number, string][];

/** plotly.js's default trace colours, in order. */
export const TRACE_COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Viridis (perceptually uniform, dark = small). */
export const SEQUENTIAL: ColorScale = [
  [0, "#440154"],
  [0.125, "#472d7b"],
  [0.25, "#3b528b"],
  [0.375, "#2c728e"],
  [0.5, "#21918c"],
  [0.625, "#28ae80"],
  [0.75, "#5ec962"],
  [0.875, "#addc30"],
  [1, "#fde725"],
];

/** ColorBrewer RdBu, blue for negative, white at the centre, red for positive. */
export const DIVERGING: ColorScale = [
  [0, "#2166ac"],
  [0.25, "#67a9cf"],
  [0.5, "#f7f7f7"],
  [0.75, "#ef8a62"],
  [1, "#b2182b"],
];

function rgbOf(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colour at t ∈ [0, 1] of a scale, linearly interpolated in RGB. */
export function colorAt(scale: ColorScale, t: number): [number, number, number] {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  let i = 1;
  while (i < scale.length - 1 && scale[i][0] < x) i++;
  const [t0, c0] = scale[i - 1],
    [t1, c1] = scale[i];
  const f = t1 > t0 ? (x - t0) / (t1 - t0) : 0;
  const a = rgbOf(c0),
    b = rgbOf(c1);
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as [number, number, number];
}
