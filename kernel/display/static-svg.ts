// A static picture of a figure: SVG drawn in the kernel from the same JSON plotly.js draws, shown
// where scripts do not run (an untrusted notebook, an export, a viewer without plotly.js). It knows
// what the project's figures use: scatter (lines, markers), bar (grouped, horizontal), heatmap,
// histogram; linear and category axes, subplots by axis domain, a second y axis, legend, colorbar,
// lines and text placed on the figure. No library draws plotly JSON without a browser, and a
// browser per figure is too heavy for a kernel, so this is written here, small.
import { colorAt, TRACE_COLORS, type ColorScale } from "./colors";
import { encodePng } from "./png";

type Obj = Record<string, unknown>;
export interface StaticFigure {
  data: Obj[];
  layout: Obj;
}

const FONT = "'Open Sans', verdana, arial, sans-serif";
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const num = (x: number) => String(Math.round(x * 10) / 10);
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as never) : []);

/** Plotly's pseudo-HTML text (<br>, tags, entities) as lines of plain text. */
function textLines(s: unknown): string[] {
  if (s === undefined || s === null) return [];
  const entities: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'" };
  return String(s)
    .split(/<br\s*\/?>/i)
    .map((l) => l.replace(/<[^<>]*>/g, "").replace(/&(lt|gt|amp|quot|#39);/g, (_, e: string) => entities[e]));
}
const titleOf = (v: unknown): unknown => (typeof v === "string" ? v : obj(v).text);
/** A rough width of text in pixels (no font metrics on the server). */
const textWidth = (s: string, size: number) => [...s].length * size * 0.58;

/** Lines broken at spaces so that each fits `width` pixels. */
function wrap(lines: string[], width: number, size: number): string[] {
  return lines.flatMap((line) => {
    const out: string[] = [];
    let cur = "";
    for (const word of line.split(" ")) {
      const next = cur ? `${cur} ${word}` : word;
      if (cur && textWidth(next, size) > width) {
        out.push(cur);
        cur = word;
      } else cur = next;
    }
    return [...out, cur];
  });
}

function text(x: number, y: number, s: string, o: { size?: number; anchor?: string; rotate?: number; fill?: string }) {
  const size = o.size ?? 12;
  const rot = o.rotate ? ` transform="rotate(${o.rotate} ${num(x)} ${num(y)})"` : "";
  return (
    `<text x="${num(x)}" y="${num(y)}" font-size="${size}" text-anchor="${o.anchor ?? "middle"}"` +
    ` fill="${o.fill ?? "#444"}"${rot}>${esc(s)}</text>`
  );
}

const svgRect = (x: number, y: number, w: number, h: number, attrs: string) =>
  `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" ${attrs}/>`;
const svgLine = (x1: number, y1: number, x2: number, y2: number, attrs: string) =>
  `<line x1="${num(x1)}" x2="${num(x2)}" y1="${num(y1)}" y2="${num(y2)}" ${attrs}/>`;
const dashOf = (l: Obj) =>
  l.dash === "dot" ? ` stroke-dasharray="2,3"` : l.dash === "dash" ? ` stroke-dasharray="6,4"` : "";

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count: number, dtick?: number): number[] {
  if (!(hi > lo)) return [lo];
  let step = dtick;
  if (!step) {
    const raw = (hi - lo) / Math.max(1, count);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const steps = [1, 2, 5, 10].map((k) => k * p);
    step = steps.reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  }
  if (!(step > 0) || (hi - lo) / step > 1000) return [lo, hi];
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function tickLabel(v: number, step: number, exp: boolean): string {
  if (exp || (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(step) < 1e-3))) {
    const [m, e] = v
      .toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / Math.abs(v || 1))))))
      .split("e");
    return v === 0 ? "0" : `${Number(m)}e${Number(e)}`;
  }
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

interface Axis {
  id: string; // "x", "x2", "y", ...
  lay: Obj;
  /** Pixel positions of the axis range's two ends (x: left, right; y: bottom, top). */
  p0: number;
  p1: number;
  categories?: string[];
  lo: number;
  hi: number;
  /** For y axes: the side its labels go; for x axes: the y pixel of its line. */
  side: "left" | "right" | "bottom";
  at: number;
}

function px(a: Axis, v: unknown): number {
  const x = a.categories ? a.categories.indexOf(String(v)) : Number(v);
  const reversed = a.lay.autorange === "reversed";
  const f = (x - a.lo) / (a.hi - a.lo || 1);
  return a.p0 + (reversed ? 1 - f : f) * (a.p1 - a.p0);
}

/** Pixels per unit of the axis (per category on a category axis). */
const unitOf = (a: Axis) => Math.abs(a.p1 - a.p0) / Math.abs(a.hi - a.lo || 1);

const axisKey = (id: string) => (id[0] === "x" ? "xaxis" : "yaxis") + id.slice(1);

interface Trace extends Obj {
  type: string;
  xa: string;
  ya: string;
  color: string;
}

/** Histogram traces as bars (equal bins over the data's range). */
function histogramToBar(t: Obj): Obj {
  const values = arr(t.x).map(Number).filter(Number.isFinite);
  const lo = Math.min(...values),
    hi = Math.max(...values);
  const n = Number(t.nbinsx) || Math.min(40, Math.max(1, Math.ceil(Math.sqrt(values.length))));
  const w = (hi - lo || 1) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / w))]++;
  return { ...t, type: "bar", x: counts.map((_, i) => lo + (i + 0.5) * w), y: counts, width: w };
}

function scaleOf(t: Obj): ColorScale {
  const s = Array.isArray(t.colorscale)
    ? (t.colorscale as ColorScale)
    : [[0, "#ffffff"] as [number, string], [1, "#000000"] as [number, string]];
  return t.reversescale ? s.map(([p, c]) => [1 - p, c] as [number, string]).reverse() : s;
}

function rgbText([r, g, b]: [number, number, number]) {
  return `rgb(${r},${g},${b})`;
}

/** The SVG text of a figure (width from layout.width, else `defaultWidth`). */
export function figureSvg(fig: StaticFigure, defaultWidth = 760): string {
  const L = fig.layout;
  const traces: Trace[] = fig.data.map((raw, i) => {
    const t = raw.type === "histogram" ? histogramToBar(raw) : raw;
    const marker = obj(t.marker),
      line = obj(t.line);
    const color = [line.color, marker.color].find((c) => typeof c === "string") as string | undefined;
    return {
      ...t,
      type: String(t.type ?? "scatter"),
      xa: String(t.xaxis ?? "x"),
      ya: String(t.yaxis ?? "y"),
      color: color ?? TRACE_COLORS[i % TRACE_COLORS.length],
    };
  });
  const W = Number(L.width) || defaultWidth;
  let H = Number(L.height) || 420;
  const m = { l: 70, r: 30, t: 60, b: 60, ...(obj(L.margin) as Partial<Record<"l" | "r" | "t" | "b", number>>) };

  // Legend: horizontal below the plot (more height) or vertical at the right (less plot width).
  const legendItems = traces.filter((t) => t.showlegend !== false && t.type !== "heatmap" && t.name !== undefined);
  const showLegend = L.showlegend === true || (L.showlegend !== false && legendItems.length > 1);
  const legend = obj(L.legend);
  const horizontal = legend.orientation === "h";
  let legendRows: { t: Trace; x: number }[][] = [];
  let right = W - m.r;
  if (showLegend && horizontal) {
    let row: { t: Trace; x: number }[] = [],
      x = m.l;
    for (const t of legendItems) {
      const w = 40 + textWidth(String(t.name), 12);
      if (row.length && x + w > W - m.r) {
        legendRows.push(row);
        row = [];
        x = m.l;
      }
      row.push({ t, x });
      x += w;
    }
    legendRows.push(row);
  } else if (showLegend) {
    right -= 40 + Math.max(...legendItems.map((t) => textWidth(String(t.name), 12)));
    legendRows = legendItems.map((t) => [{ t, x: right + 20 }]);
  }
  const legendHeight = showLegend && horizontal ? 20 * legendRows.length + 8 : 0;
  const colorbars = traces.flatMap((t) => {
    const marker = obj(t.marker);
    if (t.type === "heatmap" && t.showscale !== false)
      return [{ ...zRange(t), scale: scaleOf(t), bar: obj(t.colorbar), ya: t.ya }];
    if (!marker.showscale || !arr(marker.color).length) return [];
    const c = arr(marker.color).map(Number);
    return [
      { zmin: Math.min(...c), zmax: Math.max(...c), scale: scaleOf(marker), bar: obj(marker.colorbar), ya: t.ya },
    ];
  });
  if (colorbars.some((c) => c.bar.x === undefined)) right -= 80;
  const top = m.t,
    bottom = H - m.b;
  const plotW = right - m.l;

  // Axes with their data ranges.
  const axes = new Map<string, Axis>();
  const ids = new Set(traces.flatMap((t) => [t.xa, t.ya]));
  for (const id of [...ids].sort()) {
    const lay = obj(L[axisKey(id)]);
    const isX = id[0] === "x";
    const over = lay.overlaying ? obj(L[axisKey(String(lay.overlaying))]) : undefined;
    const [d0, d1] = (arr((over ?? lay).domain).length ? arr((over ?? lay).domain) : [0, 1]).map(Number);
    const mine = traces.filter((t) => (isX ? t.xa : t.ya) === id);
    const values = mine.flatMap((t) => {
      const vals = arr(isX ? t.x : t.y);
      if (t.type === "heatmap") {
        const z = arr(t.z).map(arr);
        const n = isX ? (z[0]?.length ?? 0) : z.length;
        return vals.length ? vals : Array.from({ length: n }, (_, i) => i);
      }
      return vals;
    });
    const categorical = lay.type === "category" || values.some((v) => typeof v === "string");
    const a: Axis = {
      id,
      lay,
      p0: isX ? m.l + d0 * plotW : bottom - d0 * (bottom - top),
      p1: isX ? m.l + d1 * plotW : bottom - d1 * (bottom - top),
      lo: 0,
      hi: 1,
      side: isX ? "bottom" : lay.side === "right" ? "right" : "left",
      at: 0,
    };
    if (categorical) {
      a.categories = [...new Set(values.map(String))];
      [a.lo, a.hi] = [-0.5, a.categories.length - 0.5];
    } else {
      const nums = values.map(Number).filter(Number.isFinite);
      const heat = mine.some((t) => t.type === "heatmap");
      const bars = mine.filter((t) => t.type === "bar");
      const valueAxis = bars.some((t) => (t.orientation === "h") === isX);
      if (valueAxis || lay.rangemode === "tozero") nums.push(0);
      let lo = nums.length ? Math.min(...nums) : 0,
        hi = nums.length ? Math.max(...nums) : 1;
      if (heat || bars.some((t) => (t.orientation === "h") !== isX)) {
        const sorted = [...new Set(nums)].sort((p, q) => p - q);
        const half = sorted.length > 1 ? (sorted[1] - sorted[0]) / 2 : 0.5;
        const width = Math.max(0, ...bars.map((t) => Math.max(0, ...arr(t.width).map(Number), Number(t.width) || 0)));
        lo -= Math.max(half, width / 2);
        hi += Math.max(half, width / 2);
      } else if (hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) {
        // One value (or values equal but for rounding): a range around it.
        const pad = Math.abs(hi) * 0.1 || 1;
        lo -= pad;
        hi += pad;
      } else {
        // Room for markers and bars (5%), and for a line's width (2%); zero stays the edge.
        const marks = valueAxis || mine.some((t) => String(t.mode ?? "lines").includes("markers"));
        const pad = (hi - lo) * (marks ? 0.05 : 0.02);
        hi += pad;
        if (lo !== 0) lo -= pad;
      }
      const range = arr(lay.range).map(Number);
      if (range.length === 2 && range.every(Number.isFinite)) [lo, hi] = range;
      [a.lo, a.hi] = [lo, hi];
    }
    axes.set(id, a);
  }
  for (const a of axes.values()) {
    if (a.id[0] === "x") {
      const anchor = axes.get(String(a.lay.anchor ?? "y").replace("free", "y"));
      a.at = anchor ? anchor.p0 : bottom;
    } else {
      const anchor = axes.get(String(a.lay.anchor ?? "x"));
      a.at = a.side === "right" ? (anchor?.p1 ?? right) : (anchor?.p0 ?? m.l);
    }
  }

  const parts: string[] = [];
  const clip = (a: Axis, b: Axis) => `clip-${a.id}${b.id}`;
  const defs: string[] = [];
  for (const t of traces) {
    const xa = axes.get(t.xa)!,
      ya = axes.get(t.ya)!;
    const id = clip(xa, ya);
    if (!defs.some((d) => d.includes(`"${id}"`)))
      defs.push(
        `<clipPath id="${id}">` +
          svgRect(
            Math.min(xa.p0, xa.p1),
            Math.min(ya.p0, ya.p1),
            Math.abs(xa.p1 - xa.p0),
            Math.abs(ya.p0 - ya.p1),
            "",
          ) +
          `</clipPath>`,
      );
  }

  // Grid lines and ticks of each axis.
  const axisParts: string[] = [];
  for (const a of axes.values()) {
    const isX = a.id[0] === "x";
    // The axis this one is drawn against: its grid lines span that axis.
    const overlaid = a.lay.overlaying ? obj(L[axisKey(String(a.lay.overlaying))]) : a.lay;
    const other = axes.get(String(overlaid.anchor ?? a.lay.anchor ?? (isX ? "y" : "x")));
    const length = Math.abs(a.p1 - a.p0);
    let ticks: { v: number | string; label: string }[];
    const tickvals = arr(a.lay.tickvals);
    if (tickvals.length) {
      const tt = arr(a.lay.ticktext);
      ticks = tickvals.map((v, i) => ({ v: v as number, label: textLines(tt[i] ?? v).join(" ") }));
    } else if (a.categories) {
      ticks = a.categories.map((c) => ({ v: c, label: textLines(c).join(" ") }));
    } else {
      const dtick = Number(a.lay.dtick) || undefined;
      const vals = niceTicks(
        Math.min(a.lo, a.hi),
        Math.max(a.lo, a.hi),
        Math.max(3, Math.floor(length / (isX ? 80 : 40))),
        dtick,
      );
      const step = vals.length > 1 ? vals[1] - vals[0] : Math.abs(a.hi - a.lo) || 1;
      ticks = vals.map((v) => ({ v, label: tickLabel(v, step, a.lay.exponentformat === "e" && Math.abs(v) < 1e-2) }));
    }
    // Category labels that would overlap turn; when even turned they crowd, every k-th is shown.
    const widest = Math.max(0, ...ticks.map((t) => textWidth(t.label, 11)));
    const room = length / Math.max(1, ticks.length);
    // One-character labels (a byte-level model's tokens) read as text with a 2 px gap; words need more.
    const gap = widest <= 8 ? 2 : 4;
    const turn = isX && widest > room - gap;
    const every = isX ? Math.max(1, Math.ceil((turn ? 14 : widest + gap) / room)) : Math.max(1, Math.ceil(16 / room));
    const grid = a.lay.showgrid !== false && other !== undefined;
    ticks.forEach((t, i) => {
      const p = px(a, t.v);
      if (!(p >= Math.min(a.p0, a.p1) - 0.5 && p <= Math.max(a.p0, a.p1) + 0.5)) return;
      if (grid && other)
        parts.push(
          isX ? svgLine(p, other.p0, p, other.p1, `stroke="#eee"`) : svgLine(other.p0, p, other.p1, p, `stroke="#eee"`),
        );
      if (i % every) return;
      if (isX)
        axisParts.push(
          turn
            ? text(p + 4, a.at + 14, t.label, { size: 11, anchor: "end", rotate: -45 })
            : text(p, a.at + 16, t.label, { size: 11 }),
        );
      else {
        const right = a.side === "right";
        axisParts.push(
          text(right ? a.at + 6 : a.at - 6, p + 4, t.label, { size: 11, anchor: right ? "start" : "end" }),
        );
      }
    });
    if (isX) axisParts.push(svgLine(a.p0, a.at, a.p1, a.at, `stroke="#bbb"`));
    const title = textLines(titleOf(a.lay.title)).join(" ");
    if (title) {
      if (isX)
        axisParts.push(text((a.p0 + a.p1) / 2, a.at + (turn ? 14 + widest * 0.7 + 14 : 36), title, { size: 12 }));
      else {
        const labelW = Math.max(0, ...ticks.map((t) => textWidth(t.label, 11)));
        const x = a.side === "right" ? a.at + 14 + labelW : a.at - 14 - labelW;
        axisParts.push(text(x, (a.p0 + a.p1) / 2, title, { size: 12, rotate: a.side === "right" ? 90 : -90 }));
      }
    }
  }

  // Traces.
  const barSlots = new Map<string, Trace[]>();
  for (const t of traces.filter((t) => t.type === "bar")) {
    const k = `${t.xa}${t.ya}`;
    barSlots.set(k, [...(barSlots.get(k) ?? []), t]);
  }
  for (const t of traces) {
    const xa = axes.get(t.xa)!,
      ya = axes.get(t.ya)!;
    const g: string[] = [];
    if (t.type === "heatmap") g.push(heatmapImage(t, xa, ya));
    else if (t.type === "bar") {
      const horizontal = t.orientation === "h";
      const [ca, va] = horizontal ? [ya, xa] : [xa, ya];
      const cats = arr(horizontal ? t.y : t.x),
        vals = arr(horizontal ? t.x : t.y).map(Number);
      const group = L.barmode === "group" || L.barmode === undefined ? (barSlots.get(`${t.xa}${t.ya}`) ?? [t]) : [t];
      const k = Math.max(0, group.indexOf(t));
      const unit = unitOf(ca);
      const colors = arr(obj(t.marker).color);
      cats.forEach((c, i) => {
        const wData = Number(arr(t.width)[i] ?? t.width) || 0.8;
        const slot = (ca.categories ? 0.8 : wData) * unit;
        const w = slot / group.length;
        const centre = px(ca, c) - slot / 2 + w * (k + 0.5);
        const a = px(va, 0),
          b = px(va, vals[i]);
        if (!Number.isFinite(b)) return;
        const fill = typeof colors[i] === "string" ? (colors[i] as string) : t.color;
        g.push(
          horizontal
            ? svgRect(Math.min(a, b), centre - w / 2, Math.abs(b - a), w, `fill="${fill}"`)
            : svgRect(centre - w / 2, Math.min(a, b), w, Math.abs(b - a), `fill="${fill}"`),
        );
      });
    } else {
      const xs = arr(t.x),
        ys = arr(t.y);
      const pts = xs.map((x, i) => (ys[i] === null || ys[i] === undefined ? undefined : [px(xa, x), px(ya, ys[i])]));
      const mode = String(t.mode ?? (xs.length > 20 ? "lines" : "lines+markers"));
      const line = obj(t.line);
      if (mode.includes("lines")) {
        const dash = dashOf(line);
        let run: number[][] = [];
        const flush = () => {
          if (run.length > 1)
            g.push(
              `<polyline fill="none" stroke="${typeof line.color === "string" ? line.color : t.color}" ` +
                `stroke-width="${Number(line.width) || 2}"${dash} ` +
                `points="${run.map(([x, y]) => `${num(x)},${num(y)}`).join(" ")}"/>`,
            );
          run = [];
        };
        for (const p of pts)
          if (p && p.every(Number.isFinite)) run.push(p);
          else flush();
        flush();
      }
      if (mode.includes("markers")) {
        const marker = obj(t.marker);
        const colors = arr(marker.color);
        const nums = colors.map(Number);
        const [cmin, cmax] = [Math.min(...nums), Math.max(...nums)];
        const r = (Number(marker.size) || 6) / 2;
        pts.forEach((p, i) => {
          if (!p || !p.every(Number.isFinite)) return;
          const c =
            typeof colors[i] === "number"
              ? rgbText(colorAt(scaleOf(marker), (nums[i] - cmin) / (cmax - cmin || 1)))
              : typeof colors[i] === "string"
                ? (colors[i] as string)
                : t.color;
          g.push(`<circle cx="${num(p[0])}" cy="${num(p[1])}" r="${num(r)}" fill="${c}"/>`);
        });
      }
    }
    parts.push(`<g clip-path="url(#${clip(xa, ya)})">${g.join("")}</g>`);
  }

  // Shapes (lines) and annotations in data or paper coordinates.
  const paperX = (v: number) => m.l + v * plotW,
    paperY = (v: number) => bottom - v * (bottom - top);
  const at = (ref: unknown, v: unknown, isX: boolean) => {
    const r = String(ref ?? (isX ? "x" : "y"));
    const a = axes.get(r);
    return r === "paper" || !a ? (isX ? paperX(Number(v)) : paperY(Number(v))) : px(a, v);
  };
  for (const s of arr(L.shapes).map(obj)) {
    if (s.type !== "line") continue;
    const l = obj(s.line);
    const dash = dashOf(l);
    parts.push(
      svgLine(
        at(s.xref, s.x0, true),
        at(s.yref, s.y0, false),
        at(s.xref, s.x1, true),
        at(s.yref, s.y1, false),
        `stroke="${String(l.color ?? "#444")}" stroke-width="${Number(l.width) || 1}"${dash}`,
      ),
    );
  }
  for (const n of arr(L.annotations).map(obj)) {
    const x = at(n.xref, n.x, true),
      y = at(n.yref, n.y, false);
    const anchor = n.xanchor === "left" ? "start" : n.xanchor === "right" ? "end" : "middle";
    const size = Number(obj(n.font).size) || 11;
    const lines = textLines(n.text);
    const dy = n.yanchor === "bottom" ? -(lines.length - 1) * size * 1.2 - 3 : n.yanchor === "top" ? size : size / 3;
    lines.forEach((l, i) =>
      parts.push(text(x, y + dy + i * size * 1.2, l, { size, anchor, fill: String(obj(n.font).color ?? "#444") })),
    );
  }

  // Colorbars.
  colorbars.forEach(({ zmin, zmax, scale, bar: cb, ya: yid }, i) => {
    const ya = axes.get(yid)!;
    const x = cb.x !== undefined ? m.l + Number(cb.x) * plotW + 10 : right + 16;
    const y0 = Math.min(ya.p0, ya.p1),
      h = Math.abs(ya.p0 - ya.p1);
    const gid = `cb${i}`;
    defs.push(
      `<linearGradient id="${gid}" x1="0" y1="1" x2="0" y2="0">` +
        scale.map(([p, c]) => `<stop offset="${p}" stop-color="${c}"/>`).join("") +
        `</linearGradient>`,
    );
    parts.push(svgRect(x, y0, 14, h, `fill="url(#${gid})" stroke="#ccc"`));
    const vals = niceTicks(zmin, zmax, Math.max(3, Math.floor(h / 40)));
    const step = vals.length > 1 ? vals[1] - vals[0] : 1;
    for (const v of vals) {
      const y = y0 + h - ((v - zmin) / (zmax - zmin || 1)) * h;
      parts.push(text(x + 18, y + 4, tickLabel(v, step, false), { size: 10, anchor: "start" }));
    }
    const title = textLines(titleOf(cb.title)).join(" ");
    if (title) parts.push(text(x, y0 - 8, title, { size: 11, anchor: "start" }));
  });

  // Title and legend.
  const titleObj = obj(L.title);
  const titleSize = Number(obj(titleObj.font).size) || 16;
  const titleLines = wrap(textLines(titleOf(L.title)), W - 20, titleSize);
  const subtitle = wrap(textLines(titleOf(titleObj.subtitle)), W - 20, 12);
  const titleY = Math.max(titleSize + 4, m.t / 2 - 4 - (subtitle.length * 14) / 2);
  titleLines.forEach((l, i) =>
    parts.push(text(W / 2, titleY + i * titleSize * 1.25, l, { size: titleSize, fill: "#333" })),
  );
  subtitle.forEach((l, i) =>
    parts.push(text(W / 2, titleY + titleLines.length * titleSize * 1.25 + i * 14, l, { size: 12, fill: "#666" })),
  );
  if (showLegend) {
    const xTitle = [...axes.values()].some((a) => a.id[0] === "x" && titleOf(a.lay.title));
    const y0 = horizontal ? bottom + (xTitle ? 50 : 34) : top + 10;
    legendRows.forEach((row, r) =>
      row.forEach(({ t, x }) => {
        const y = y0 + r * 20;
        const line = obj(t.line);
        const dash = dashOf(line);
        parts.push(
          t.type === "bar"
            ? svgRect(x, y - 6, 24, 12, `fill="${t.color}"`)
            : svgLine(x, y, x + 24, y, `stroke="${t.color}" stroke-width="2"${dash}`),
          text(x + 30, y + 4, String(t.name), { size: 12, anchor: "start" }),
        );
      }),
    );
  }
  H += legendHeight;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">` +
    `<defs>${defs.join("")}</defs><rect width="${W}" height="${H}" fill="#fff"/>` +
    parts.join("") +
    axisParts.join("") +
    `</svg>`
  );
}

function zRange(t: Obj): { zmin: number; zmax: number } {
  const z = arr(t.z).flatMap(arr).map(Number).filter(Number.isFinite);
  const zmin = Number.isFinite(Number(t.zmin)) && t.zmin !== undefined ? Number(t.zmin) : Math.min(...z);
  const zmax = Number.isFinite(Number(t.zmax)) && t.zmax !== undefined ? Number(t.zmax) : Math.max(...z);
  return { zmin, zmax: zmax > zmin ? zmax : zmin + 1 };
}

/** A heatmap as one pixel per cell (PNG), stretched over the cells' extent. */
function heatmapImage(t: Obj, xa: Axis, ya: Axis): string {
  const z = arr(t.z).map((r) => arr(r).map(Number));
  const rows = z.length,
    cols = z[0]?.length ?? 0;
  if (!rows || !cols) return "";
  const { zmin, zmax } = zRange(t);
  const scale = scaleOf(t);
  const rgb = new Uint8Array(rows * cols * 3);
  // Row 0 of the picture is the top: the last row of z unless the y axis is reversed.
  const flip = ya.lay.autorange !== "reversed";
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = z[flip ? rows - 1 - r : r][c];
      rgb.set(Number.isFinite(v) ? colorAt(scale, (v - zmin) / (zmax - zmin)) : [255, 255, 255], (r * cols + c) * 3);
    }
  const xs = arr(t.x).length ? arr(t.x) : Array.from({ length: cols }, (_, i) => i);
  const ys = arr(t.y).length ? arr(t.y) : Array.from({ length: rows }, (_, i) => i);
  const half = (a: Axis, v: unknown[]) => (a.categories ? 0.5 : v.length > 1 ? (Number(v[1]) - Number(v[0])) / 2 : 0.5);
  const edge = (a: Axis, v: unknown[], i: number, d: number) =>
    a.categories ? px(a, v[i]) + d * unitOf(a) * 0.5 : px(a, Number(v[i]) + d * half(a, v));
  const extent = (a: Axis, v: unknown[], n: number) => {
    const e = [edge(a, v, 0, -1), edge(a, v, 0, 1), edge(a, v, n - 1, -1), edge(a, v, n - 1, 1)];
    return [Math.min(...e), Math.max(...e)];
  };
  const [x0, x1] = extent(xa, xs, cols),
    [y0, y1] = extent(ya, ys, rows);
  const png = encodePng(cols, rows, rgb).toString("base64");
  const image =
    `<image x="${num(x0)}" y="${num(y0)}" width="${num(x1 - x0)}" height="${num(y1 - y0)}" ` +
    `preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,${png}"/>`;
  // Values written in the cells (texttemplate "%{z:.Nf}"), when the cells have room for them.
  const digits = /%\{z:\.(\d)f\}/.exec(String(t.texttemplate ?? ""));
  const cw = (x1 - x0) / cols,
    ch = (y1 - y0) / rows;
  if (!digits || cw < 30 || ch < 14) return image;
  const labels: string[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = z[flip ? rows - 1 - r : r][c];
      const [red, green, blue] = rgb.subarray((r * cols + c) * 3, (r * cols + c) * 3 + 3);
      const dark = 0.299 * red + 0.587 * green + 0.114 * blue < 140;
      labels.push(
        text(x0 + (c + 0.5) * cw, y0 + (r + 0.5) * ch + 4, v.toFixed(Number(digits[1])), {
          size: 11,
          fill: dark ? "#fff" : "#222",
        }),
      );
    }
  return image + labels.join("");
}
